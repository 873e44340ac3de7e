import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { redactLogLine } from './redaction.js';

/**
 * The one pino logger of an instance (children share its settings). Every line it writes is redacted
 * (redaction.ts): no token, password, cookie or Authorization value reaches the log, whoever logged it.
 */
export function createRootLogger(level: string, instance: string, destination?: DestinationStream): PinoLogger {
  const options = { level, base: { instance }, timestamp: pino.stdTimeFunctions.isoTime, hooks: { streamWrite: redactLogLine } };
  return destination ? pino(options, destination) : pino(options);
}

/** Nest's LoggerService on top of one pino logger, so framework and app logs share one JSON stream. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly root: PinoLogger) {}

  private emit(level: 'error' | 'warn' | 'info' | 'debug' | 'trace', message: unknown, rest: unknown[]): void {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const child = context ? this.root.child({ context }) : this.root;
    if (message !== null && typeof message === 'object') {
      const msg = typeof rest[0] === 'string' ? (rest[0] as string) : undefined;
      child[level](message as object, msg);
    } else if (level === 'error' && typeof rest[0] === 'string' && rest[0].includes('\n')) {
      child.error({ stack: rest[0] }, String(message));
    } else {
      child[level](String(message));
    }
  }

  log(message: unknown, ...rest: unknown[]): void { this.emit('info', message, rest); }
  error(message: unknown, ...rest: unknown[]): void { this.emit('error', message, rest); }
  warn(message: unknown, ...rest: unknown[]): void { this.emit('warn', message, rest); }
  debug(message: unknown, ...rest: unknown[]): void { this.emit('debug', message, rest); }
  verbose(message: unknown, ...rest: unknown[]): void { this.emit('trace', message, rest); }
  fatal(message: unknown, ...rest: unknown[]): void { this.emit('error', message, rest); }
}
