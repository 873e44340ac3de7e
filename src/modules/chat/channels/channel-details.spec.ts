import { changedDetails, channelDetailsProblem, detailNotices } from './channel-details.js';

describe('channel details', () => {
  const before = { display_name: 'Town', header: '', purpose: 'talk' };

  it('writes Mattermost\'s notices for each changed field, in its order', () => {
    expect(detailNotices('alice', before, { purpose: '', header: 'h1', display_name: 'City' })).toEqual([
      {
        type: 'system_displayname_change',
        message: '@alice updated the channel display name from: Town to: City',
        props: { username: 'alice', old_displayname: 'Town', new_displayname: 'City' },
      },
      { type: 'system_header_change', message: '@alice updated the channel header to: h1', props: { username: 'alice', old_header: '', new_header: 'h1' } },
      { type: 'system_purpose_change', message: '@alice removed the channel purpose (was: talk)', props: { username: 'alice', old_purpose: 'talk', new_purpose: '' } },
    ]);
    expect(detailNotices('bob', { ...before, header: 'a' }, { header: 'b' })[0].message).toBe('@bob updated the channel header from: a to: b');
    expect(detailNotices('bob', before, { display_name: 'Town' })).toEqual([]);
  });

  it('keeps only fields that change, and checks Mattermost\'s limits', () => {
    expect(changedDetails(before, { display_name: 'Town', header: 'x' })).toEqual({ header: 'x' });
    expect(channelDetailsProblem({ display_name: '' })).toMatch(/display_name/);
    expect(channelDetailsProblem({ purpose: 'p'.repeat(251) })).toMatch(/purpose/);
    expect(channelDetailsProblem({ header: 7 as unknown as string })).toMatch(/header must be a string/);
    expect(channelDetailsProblem({ header: 'a\u0000b' })).toMatch(/NUL/);
    expect(channelDetailsProblem({ display_name: 'ok', header: 'h'.repeat(1024) })).toBeNull();
  });
});
