import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { AppError } from './app-error.js';
import { isValidId } from './ids.js';

/** Path ids must be Mattermost ids: a malformed one is a 400 naming the parameter, never a lookup. */
@Injectable()
export class IdParamPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (!isValidId(value)) throw AppError.invalidParam(metadata.data ?? 'id');
    return value;
  }
}

/** Like IdParamPipe, but "me" is also allowed (resolved by the handler to the caller). */
@Injectable()
export class UserIdParamPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (value !== 'me' && !isValidId(value)) throw AppError.invalidParam(metadata.data ?? 'user_id');
    return value;
  }
}
