import { Inject, Injectable } from '@nestjs/common';
import bcrypt from 'bcryptjs';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';

/** bcrypt, salted per password; the async API yields to the event loop between rounds. */
@Injectable()
export class PasswordHasher {
  /** A valid hash of a random string: compared against when the user does not exist, so timing says nothing. */
  private dummyHash?: Promise<string>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.config.auth.passwordHashCost);
  }

  async verify(password: string, hash: string | undefined): Promise<boolean> {
    if (!hash) {
      this.dummyHash ??= this.hash('not-a-password-' + Math.random());
      await bcrypt.compare(password, await this.dummyHash);
      return false;
    }
    return bcrypt.compare(password, hash);
  }
}
