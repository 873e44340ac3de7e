import { Injectable, Logger } from '@nestjs/common';
import type { Tx } from '../../../database/transaction-runner.js';
import type { JournalRow } from './change-event.entity.js';
import { ChangeEventRepository } from './change-event.repository.js';
import type { ChangeEvent, NewChangeEvent } from './change-event.types.js';

export type ChangeListener = (event: ChangeEvent) => void | Promise<void>;

/**
 * The chat core's only outward signal. record() writes the journal row inside the caller's transaction;
 * publish() tells in-process listeners once that transaction has committed. A listener that throws is
 * logged and never affects the change or other listeners.
 */
@Injectable()
export class ChangeEventsService {
  private readonly logger = new Logger(ChangeEventsService.name);
  private readonly listeners = new Set<ChangeListener>();

  constructor(private readonly journal: ChangeEventRepository) {}

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async record(tx: Tx, event: NewChangeEvent, at = Date.now()): Promise<ChangeEvent> {
    await this.journal.insert(tx, this.journalRow(event, at));
    return { ...event, at } as ChangeEvent;
  }

  /**
   * The journal row of a change, for a writer that puts it in the same statement as the change itself (see
   * PostRepository.insertWithJournal); it then publishes { ...event, at } after that statement.
   */
  journalRow(event: NewChangeEvent, at: number): JournalRow {
    const { kind, channel_id, origin_remote_id, ...data } = event;
    return { kind, channel_id, origin_remote_id, data, create_at: at };
  }

  /** record() for many changes of one transaction, written in one statement. */
  async recordMany(tx: Tx, events: NewChangeEvent[], at = Date.now()): Promise<ChangeEvent[]> {
    if (!events.length) return [];
    await this.journal.insertMany(
      tx,
      events.map(({ kind, channel_id, origin_remote_id, ...data }) => ({ kind, channel_id, origin_remote_id, data, create_at: at })),
    );
    return events.map((event) => ({ ...event, at }) as ChangeEvent);
  }

  publish(events: ChangeEvent | ChangeEvent[]): void {
    for (const event of Array.isArray(events) ? events : [events]) {
      for (const listener of this.listeners) {
        try {
          const result = listener(event);
          if (result instanceof Promise) result.catch((err: unknown) => this.logger.error({ err, kind: event.kind }, 'change listener failed'));
        } catch (err) {
          this.logger.error({ err, kind: event.kind }, 'change listener failed');
        }
      }
    }
  }
}
