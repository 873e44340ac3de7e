import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Tx } from '../../../database/transaction-runner.js';
import type { JournalRow } from './change-event.entity.js';
import { ChangeEventRepository } from './change-event.repository.js';
import { CHAT_CHANGE_EVENT, type ChangeEvent, type NewChangeEvent } from './change-event.types.js';
import { CHAT_NOTICE_EVENT, type ChatNotice } from './chat-notice.types.js';

/**
 * The chat core's outward signals. record() writes the journal row inside the caller's transaction;
 * publish() emits CHAT_CHANGE_EVENT (listeners: `@OnEvent(CHAT_CHANGE_EVENT)`) once that transaction has
 * committed. A listener that throws is logged by the emitter and never affects the change or other listeners.
 */
@Injectable()
export class ChangeEventsService {
  constructor(
    private readonly journal: ChangeEventRepository,
    private readonly emitter: EventEmitter2,
  ) {}

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
    for (const event of Array.isArray(events) ? events : [events]) this.emitter.emit(CHAT_CHANGE_EVENT, event);
  }

  /** CHAT_NOTICE_EVENT: something listeners should hear about that is not journalled (call it after commit). */
  notify(notice: ChatNotice): void {
    this.emitter.emit(CHAT_NOTICE_EVENT, notice);
  }
}
