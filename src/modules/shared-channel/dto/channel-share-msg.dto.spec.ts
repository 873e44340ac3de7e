import { readFileSync } from 'node:fs';
import { ChannelShareRejected } from '../shared-channel.errors.js';
import { parseChannelInvite, parseChannelUnshare } from './channel-share-msg.dto.js';

const samples = (JSON.parse(readFileSync('test/fixtures/wire-samples.json', 'utf8')) as { samples: Array<{ name: string; json: any }> }).samples;
const sample = (name: string) => structuredClone(samples.find((s) => s.name === name)!.json);

describe('sharedchannel_invite payload', () => {
  it('reads Mattermost\'s invites as they are', () => {
    expect(parseChannelInvite(sample('ChannelInviteMsg.open-channel'))).toEqual(sample('ChannelInviteMsg.open-channel'));
    expect(parseChannelInvite(sample('ChannelInviteMsg.dm-every-field'))).toEqual(sample('ChannelInviteMsg.dm-every-field'));
    expect(parseChannelInvite(sample('RemoteClusterFrame.channel-invite').msg.payload).channel_id).toBe('jaunxkm7djwtczs96188ty9skr');
  });

  it('treats absent and null fields as Go does (zero values)', () => {
    const invite = parseChannelInvite({ channel_id: 'jaunxkm7djwtczs96188ty9skr', type: 'P', name: 'x', display_name: 'X', read_only: null });
    expect(invite).toMatchObject({ team_id: '', read_only: false, header: '', creator_id: '', direct_participant_ids: null, direct_participants: null });
  });

  it.each<[string, unknown]>([
    ['not an object', 'x'],
    ['a wrong type', { ...sample('ChannelInviteMsg.open-channel'), purpose: 3 }],
    ['a bad channel id', { ...sample('ChannelInviteMsg.open-channel'), channel_id: 'Jaunxkm7djwtczs96188ty9skr' }],
    ['an unknown channel type', { ...sample('ChannelInviteMsg.open-channel'), type: 'Q' }],
    ['a purpose over 250 characters', { ...sample('ChannelInviteMsg.open-channel'), purpose: 'é'.repeat(251) }],
    ['a DM of three', { ...sample('ChannelInviteMsg.dm-every-field'), direct_participant_ids: ['6dyncy65pif1icyniwsxsjfhmz', 'fzdo3m8dbjbpxynum5c4hgn9f3', 'jaunxkm7djwtczs96188ty9skr'] }],
    ['a repeated participant', { ...sample('ChannelInviteMsg.dm-every-field'), direct_participant_ids: ['6dyncy65pif1icyniwsxsjfhmz', '6dyncy65pif1icyniwsxsjfhmz'] }],
    ['a participant without an id', { ...sample('ChannelInviteMsg.dm-every-field'), direct_participants: [{ username: 'x' }] }],
    ['a GM of nine', { ...sample('ChannelInviteMsg.open-channel'), type: 'G', direct_participant_ids: Array.from({ length: 9 }, (_, i) => `${'a'.repeat(25)}${i}`) }],
  ])('refuses %s', (_what, payload) => {
    expect(() => parseChannelInvite(payload)).toThrow(ChannelShareRejected);
  });

  it('counts characters, not UTF-16 units or bytes, against the limits', () => {
    expect(() => parseChannelInvite({ ...sample('ChannelInviteMsg.open-channel'), display_name: '😀'.repeat(64) })).not.toThrow();
    expect(() => parseChannelInvite({ ...sample('ChannelInviteMsg.open-channel'), display_name: '😀'.repeat(65) })).toThrow(ChannelShareRejected);
  });
});

describe('sharedchannel_unshare payload', () => {
  it('needs a valid channel id', () => {
    expect(parseChannelUnshare({ channel_id: 'jaunxkm7djwtczs96188ty9skr', remote_id: 'r' })).toEqual({ channel_id: 'jaunxkm7djwtczs96188ty9skr', remote_id: 'r' });
    expect(() => parseChannelUnshare({ channel_id: 'nope' })).toThrow(ChannelShareRejected);
    expect(() => parseChannelUnshare(null)).toThrow(ChannelShareRejected);
  });
});
