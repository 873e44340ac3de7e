import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { IdColumn } from '../../database/columns.js';

/** Personal access token (Mattermost's UserAccessToken); the token itself is shown once, stored hashed. */
@Entity('user_access_tokens')
export class UserAccessTokenEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 })
  id: string;

  @Index('uq_user_access_tokens_token_hash', { unique: true })
  @Column({ type: 'char', length: 64 })
  token_hash: string;

  @Index('idx_user_access_tokens_user_id')
  @IdColumn()
  user_id: string;

  @Column({ type: 'varchar', length: 512, default: '' })
  description: string;

  @Column({ type: 'boolean', default: true })
  is_active: boolean;
}
