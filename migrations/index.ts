import type { MigrationInterface } from 'typeorm';
import { Init1795646093758 } from './1795646093758-Init.js';
import { ChatCore1795646930186 } from './1795646930186-ChatCore.js';
import { RemoteClusters1795647605770 } from './1795647605770-RemoteClusters.js';
import { SharedChannels1795648606366 } from './1795648606366-SharedChannels.js';
import { ChannelChangeSequence1795648766267 } from './1795648766267-ChannelChangeSequence.js';
import { SharedChannelUnsharePending1795648994659 } from './1795648994659-SharedChannelUnsharePending.js';
import { SyncPostRetries1795649120064 } from './1795649120064-SyncPostRetries.js';
import { AttachmentsMembershipUserSync1795650019069 } from './1795650019069-AttachmentsMembershipUserSync.js';
import { PostCountersTrigger1795660782506 } from './1795660782506-PostCountersTrigger.js';
import { JournalCommitOrder1795662722855 } from './1795662722855-JournalCommitOrder.js';
import { RemoteTokenHashes1796410909583 } from './1796410909583-RemoteTokenHashes.js';
import { SyncConvergence1796411477501 } from './1796411477501-SyncConvergence.js';
import { HistoryBackfillAndDeliveryTrace1796417666024 } from './1796417666024-HistoryBackfillAndDeliveryTrace.js';
import { ChannelDetailsSync1796417908980 } from './1796417908980-ChannelDetailsSync.js';
import { InviteIssuedAt1796418000000 } from './1796418000000-InviteIssuedAt.js';

/** Every migration, oldest first. `npm run migration:generate` appends here; a test checks none is missing. */
export const MIGRATIONS: Array<new () => MigrationInterface> = [
  Init1795646093758,
  ChatCore1795646930186,
  RemoteClusters1795647605770,
  SharedChannels1795648606366,
  ChannelChangeSequence1795648766267,
  SharedChannelUnsharePending1795648994659,
  SyncPostRetries1795649120064,
  AttachmentsMembershipUserSync1795650019069,
  PostCountersTrigger1795660782506,
  JournalCommitOrder1795662722855,
  RemoteTokenHashes1796410909583,
  SyncConvergence1796411477501,
  HistoryBackfillAndDeliveryTrace1796417666024,
  ChannelDetailsSync1796417908980,
  InviteIssuedAt1796418000000,
];
