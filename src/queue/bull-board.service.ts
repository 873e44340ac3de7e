import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { RequestHandler } from 'express';

export const BULL_BOARD_PATH = '/admin/queues';

/**
 * Bull Board for this instance's queues. Each queue's owning module adds its queue at init;
 * createApp mounts `router` behind a system-admin check. (@bull-board/nestjs is CommonJS and
 * require()s Nest 12's ESM packages, which Jest on Node 20 cannot load, so the mount is ours.)
 */
@Injectable()
export class BullBoardService {
  private readonly adapter = new ExpressAdapter();
  private readonly board = createBullBoard({ queues: [], serverAdapter: this.adapter });

  constructor() {
    this.adapter.setBasePath(BULL_BOARD_PATH);
  }

  addQueue(queue: Queue): void {
    this.board.addQueue(new BullMQAdapter(queue));
  }

  get router(): RequestHandler {
    return this.adapter.getRouter() as RequestHandler;
  }
}
