import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';

/** Event name of SharedChannelEvent on the app's EventEmitter2. */
export const SHARED_CHANNEL_EVENT = 'shared-channel.remote';

/**
 * Event name of a peer's "channel is no longer shared" answer (payload: NoLongerSharedReport), emitted by the sync
 * sender with emitAsync and awaited: the share is dropped on this side before the sync job ends.
 */
export const NO_LONGER_SHARED_EVENT = 'shared-channel.no-longer-shared';

export interface NoLongerSharedReport {
  channel_id: string;
  remote_id: string;
}

/**
 * A remote joined a shared channel (the invite was confirmed: on the home when the remote answered OK, on the
 * receiver once it created the channel) or left it (uninvite, unshare, "no longer shared"). The sync engine
 * follows these: a confirmed remote gets the channel's first sync, a removed one none.
 */
export interface SharedChannelEvent {
  kind: 'remote_confirmed' | 'remote_removed';
  channel_id: string;
  remote_id: string;
  /** When it happened here (ms). */
  at: number;
}

/**
 * Shared-channel lifecycle events (SHARED_CHANNEL_EVENT), emitted after the change has committed, on the replica
 * that made it; listeners use `@OnEvent(SHARED_CHANNEL_EVENT)`. A listener that throws is logged by the emitter and
 * never affects the share or other listeners.
 */
@Injectable()
export class SharedChannelEventsService {
  private readonly logger = new Logger(SharedChannelEventsService.name);

  constructor(private readonly emitter: EventEmitter2) {}

  emit(event: Omit<SharedChannelEvent, 'at'> & { at?: number }): void {
    const full: SharedChannelEvent = { ...event, at: event.at ?? Date.now() };
    this.logger.log({ ...full }, `shared channel ${full.channel_id}: ${full.kind} ${full.remote_id}`);
    this.emitter.emit(SHARED_CHANNEL_EVENT, full);
  }
}
