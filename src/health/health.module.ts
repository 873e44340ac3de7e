import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DrainState } from './drain-state.js';
import { EventLoopMonitor } from './event-loop-monitor.js';
import { HealthController } from './health.controller.js';
import { SystemController } from './system.controller.js';

@Module({ imports: [TerminusModule], controllers: [HealthController, SystemController], providers: [EventLoopMonitor, DrainState], exports: [DrainState] })
export class HealthModule {}
