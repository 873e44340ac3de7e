import 'reflect-metadata';
import type { Server } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { AppModule } from '../app.module.js';
import { AppErrorFilter, sendAppError } from '../common/app-error.filter.js';
import { JsonBodyInterceptor } from '../common/json-body.js';
import { getRequestId } from '../common/request-id.js';
import { createValidationPipe } from '../common/validation.js';
import type { AppConfig } from '../config/app-config.js';
import { DrainState } from '../health/drain-state.js';
import { createRootLogger, PinoNestLogger } from '../logging/pino-logger.js';
import { MetricsService } from '../metrics/metrics.service.js';
import {
  SWAGGER_REMOTE_ID_SCHEME,
  SWAGGER_REMOTE_TOKEN_SCHEME,
  SWAGGER_SESSION_SCHEME,
} from '../modules/auth/auth.decorators.js';
import { AuthErrors } from '../modules/auth/auth.errors.js';
import { AuthService } from '../modules/auth/auth.service.js';
import { isSystemAdmin } from '../modules/auth/permissions.js';
import { extractClientToken, SESSION_COOKIE, sessionCookieOptions } from '../modules/auth/request-token.js';
import { BULL_BOARD_PATH, BullBoardService } from '../queue/bull-board.service.js';
import {
  answerStalledBodies,
  closeConnectionsWhenStopping,
  refuseConnectMethod,
  exactJsonContentType,
  httpMetrics,
  refuseEncodedBodies,
  requestLogging,
} from './http-middleware.js';

export const SWAGGER_PATH = 'api/docs';

/** Builds the whole HTTP application for `config` without listening; main.ts and the tests share it. */
export async function createApp(config: AppConfig): Promise<NestExpressApplication> {
  const rootLogger = createRootLogger(config.log.level, config.redis.queuePrefix);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: new PinoNestLogger(rootLogger),
    bodyParser: false,
  });

  const express = app.getHttpAdapter().getInstance();
  express.disable('x-powered-by');
  express.set('trust proxy', config.http.trustProxy);

  const drain = app.get(DrainState);
  app.use(closeConnectionsWhenStopping(() => drain.draining));
  app.use(requestLogging(rootLogger));
  app.use(exactJsonContentType());
  app.use(httpMetrics(app.get(MetricsService)));
  app.use(refuseEncodedBodies());
  app.use(answerStalledBodies());
  const server = app.getHttpServer() as Server;
  // A connection idle this long mid-request is answered 408 (answerStalledBodies) or closed.
  server.timeout = config.http.idleTimeoutMs;
  // Node drops a CONNECT nobody listens for without a word; every request gets an answer.
  server.on('connect', refuseConnectMethod);
  mountBullBoard(app);

  app.useGlobalFilters(new AppErrorFilter());
  // JSON bodies are read after the guards, with each route's limit (common/json-body.ts).
  app.useGlobalInterceptors(new JsonBodyInterceptor(app.get(Reflector)));
  app.useGlobalPipes(createValidationPipe());
  setupSwagger(app);
  return app;
}

function setupSwagger(app: INestApplication): void {
  const doc = new DocumentBuilder()
    .setTitle('Mattermost shared channels federation server')
    .setDescription('Mattermost API v4 subset (client API) and the server-to-server remote cluster protocol.')
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'Session token from POST /api/v4/users/login, or a personal access token' }, SWAGGER_SESSION_SCHEME)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-MM-RemoteCluster-Id', description: 'Remote cluster id (X-RemoteCluster-Id also accepted)' }, SWAGGER_REMOTE_ID_SCHEME)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-MM-RemoteCluster-Token', description: 'Remote cluster token (X-RemoteCluster-Token also accepted)' }, SWAGGER_REMOTE_TOKEN_SCHEME)
    .build();
  const document = SwaggerModule.createDocument(app, doc);
  SwaggerModule.setup(SWAGGER_PATH, app, document, { jsonDocumentUrl: `${SWAGGER_PATH}-json` });
}

/**
 * Bull Board for system admins only: session by Authorization header, the MMAUTHTOKEN cookie, or (the one place
 * it is accepted, because a browser link cannot carry a header) ?access_token=.
 */
function mountBullBoard(app: NestExpressApplication): void {
  const auth = app.get(AuthService);
  const board = app.get(BullBoardService);
  app.use(BULL_BOARD_PATH, (req: Request, res: Response, next: NextFunction) => {
    const token = extractClientToken(req.headers, req.query as Record<string, unknown>);
    const reject = (err: ReturnType<typeof AuthErrors.forbidden>) => sendAppError(res, err, getRequestId(req));
    if (!token) return reject(AuthErrors.sessionExpired());
    auth.authenticate(token).then(
      (ctx) => {
        if (!ctx) return reject(AuthErrors.sessionExpired());
        if (!isSystemAdmin(ctx.roles)) return reject(AuthErrors.forbidden('manage_system'));
        // A link with ?access_token= (as the demo prints) becomes a session cookie, so the board's own
        // asset and API requests are authenticated too.
        if (typeof req.query.access_token === 'string' && !req.headers.authorization) {
          res.cookie(SESSION_COOKIE, token, sessionCookieOptions(req, BULL_BOARD_PATH));
        }
        next();
      },
      (err: unknown) => next(err),
    );
  });
  app.use(BULL_BOARD_PATH, board.router);
}
