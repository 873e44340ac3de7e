import { Injectable, Logger } from '@nestjs/common';

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

export type SharedChannelListener = (event: SharedChannelEvent) => void | Promise<void>;

/**
 * In-process shared-channel lifecycle events, emitted after the change has committed, on the replica that made
 * it. A listener that throws is logged and never affects the share or other listeners.
 */
@Injectable()
export class SharedChannelEventsService {
  private readonly logger = new Logger(SharedChannelEventsService.name);
  private readonly listeners = new Set<SharedChannelListener>();

  /** Returns the unsubscribe function. */
  subscribe(listener: SharedChannelListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: Omit<SharedChannelEvent, 'at'> & { at?: number }): void {
    const full: SharedChannelEvent = { ...event, at: event.at ?? Date.now() };
    this.logger.log({ ...full }, `shared channel ${full.channel_id}: ${full.kind} ${full.remote_id}`);
    for (const listener of this.listeners) {
      try {
        const result = listener(full);
        if (result instanceof Promise) {
          result.catch((err: unknown) => this.logger.error({ err, ...full }, 'shared-channel listener failed'));
        }
      } catch (err) {
        this.logger.error({ err, ...full }, 'shared-channel listener failed');
      }
    }
  }
}
