export interface AppConfig {
  http: { port: number; siteUrl: string; trustProxy: boolean | number | string };
  database: { url: string; migrationsRun: boolean };
  redis: { url: string; queuePrefix: string };
  files: { dir: string; maxFileSize: number };
  log: { level: string };
  auth: {
    passwordHashCost: number;
    sessionLengthMs: number;
    bootstrapAdmin?: { username: string; password: string; email: string };
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
