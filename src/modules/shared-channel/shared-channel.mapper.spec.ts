import { readFileSync } from 'node:fs';
import { SharedChannelRemoteEntity } from './shared-channel-remote.entity.js';
import { SharedChannelEntity } from './shared-channel.entity.js';
import { toSharedChannelJson, toSharedChannelRemoteJson } from './shared-channel.mapper.js';

interface Sample {
  name: string;
  json: Record<string, any>;
  go_compact_bytes: string;
}
const samples = (JSON.parse(readFileSync('test/fixtures/wire-samples.json', 'utf8')) as { samples: Sample[] }).samples;
const sample = (name: string): Sample => samples.find((s) => s.name === name)!;

/** The entity a sample describes (SharedChannel: "id" is the channel id, "Type" the channel type). */
function shareFrom(json: Record<string, any>): SharedChannelEntity {
  const { id, Type, remote_id, ...rest } = json;
  return Object.assign(new SharedChannelEntity(), { ...rest, channel_id: id, type: Type, remote_id: remote_id ?? null });
}

describe('shared-channel JSON, byte for byte as Mattermost emits it', () => {
  it.each(['SharedChannel.home', 'SharedChannel.remote-homed'])('%s', (name) => {
    const s = sample(name);
    expect(JSON.stringify(toSharedChannelJson(shareFrom(s.json)))).toBe(s.go_compact_bytes);
  });

  it('SharedChannelRemote: last_post_id carries last_post_update_id; our own cursors never show', () => {
    const s = sample('SharedChannelRemote');
    const { last_post_id, ...rest } = s.json;
    const row = Object.assign(new SharedChannelRemoteEntity(), {
      ...rest,
      last_post_update_id: last_post_id,
      last_post_seq: 99,
      last_post_seq_id: 'x',
      last_reaction_seq: 5,
      last_reaction_key: 'k',
      last_ack_seq: 6,
      last_ack_key: 'k',
      last_user_event_seq: 7,
      unshare_pending: true,
    });
    expect(JSON.stringify(toSharedChannelRemoteJson(row))).toBe(s.go_compact_bytes);
  });

  it('SharedChannelRemote with a history backfill: Mattermost\'s fields unchanged, its progress appended', () => {
    const s = sample('SharedChannelRemote');
    const { last_post_id, ...rest } = s.json;
    const row = Object.assign(new SharedChannelRemoteEntity(), {
      ...rest,
      last_post_update_id: last_post_id,
      backfill_state: 'running',
      backfill_since: 0,
      backfill_total: 200,
      backfill_sent: 50,
      backfill_refused: 0,
      backfill_started_at: Date.now() - 1000,
      backfill_finished_at: 0,
    });
    const json = toSharedChannelRemoteJson(row);
    const { backfill, ...mattermost } = json;
    expect(JSON.stringify(mattermost)).toBe(s.go_compact_bytes);
    expect(backfill).toMatchObject({ state: 'running', since: 0, items_total: 200, items_sent: 50, items_refused: 0, percent: 25 });
  });
});
