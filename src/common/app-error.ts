/**
 * Mattermost's AppError: the only error shape clients and peers ever see.
 * `id` is the i18n id Mattermost uses for the same failure, so clients can match on it.
 */
export class AppError extends Error {
  constructor(
    readonly id: string,
    message: string,
    readonly statusCode: number,
    readonly detailedError = '',
    /** Sent as Retry-After (seconds) with a 429 or 503: when trying again may succeed. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'AppError';
  }

  static badRequest(id: string, message: string, detailed = ''): AppError {
    return new AppError(id, message, 400, detailed);
  }
  static unauthorized(id = 'api.context.session_expired.app_error', message = 'Invalid or expired session, please login again.'): AppError {
    return new AppError(id, message, 401);
  }
  static forbidden(id = 'api.context.permissions.app_error', message = 'You do not have the appropriate permissions.'): AppError {
    return new AppError(id, message, 403);
  }
  static notFound(id: string, message: string): AppError {
    return new AppError(id, message, 404);
  }
  static invalidParam(name: string, detailed = ''): AppError {
    return new AppError('api.context.invalid_param.app_error', `Invalid ${name} parameter.`, 400, detailed);
  }
  static invalidBodyParam(name: string, detailed = ''): AppError {
    return new AppError('api.context.invalid_body_param.app_error', `Invalid or missing ${name} in request body.`, 400, detailed);
  }
}

export interface AppErrorBody {
  id: string;
  message: string;
  detailed_error: string;
  request_id: string;
  status_code: number;
}
