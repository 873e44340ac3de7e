import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MetricsService } from '../../metrics/metrics.service.js';
import type { RemoteClusterJson } from './remote-cluster.mapper.js';
import { TopicRegistry } from './topic-registry.service.js';

const REMOTE = { remote_id: 'tewhd6bhj9buofu8fbiqnbfixg', token: '', remote_token: '' } as RemoteClusterJson;
const msg = (topic: string, payload: unknown = {}) => ({ id: 'gpgt4tobrxes9953tho4qxdaa5', topic, create_at: 1, payload });

describe('TopicRegistry', () => {
  let metrics: MetricsService;
  let registry: TopicRegistry;

  beforeEach(() => {
    metrics = new MetricsService();
    registry = new TopicRegistry(metrics);
  });

  async function unknownCount(): Promise<number> {
    const metric = await metrics.registry.getSingleMetric('remote_cluster_msg_unknown_topic_total')!.get();
    return metric.values.find((v) => v.labels.remote_id === REMOTE.remote_id)?.value ?? 0;
  }

  it('refuses a topic registered twice, and the topics with their own endpoint', () => {
    registry.register('sharedchannel_sync', () => null);
    expect(() => registry.register('sharedchannel_sync', () => null)).toThrow(/already registered/);
    expect(() => registry.register('ping', () => null)).toThrow(/own endpoint/);
    expect(() => registry.register('invitation', () => null)).toThrow(/own endpoint/);
    expect(() => registry.register('', () => null)).toThrow();
    expect(registry.topics()).toEqual(['sharedchannel_sync']);
  });

  it('stops the application at boot when two modules claim one topic', async () => {
    @Injectable()
    class SyncTopics implements OnModuleInit {
      constructor(private readonly topics: TopicRegistry) {}
      onModuleInit(): void {
        this.topics.register('sharedchannel_sync', () => null);
      }
    }
    @Injectable()
    class AnotherSyncTopics extends SyncTopics {}

    const moduleRef = await Test.createTestingModule({ providers: [MetricsService, TopicRegistry, SyncTopics, AnotherSyncTopics] }).compile();
    await expect(moduleRef.init()).rejects.toThrow('remote cluster topic "sharedchannel_sync" is already registered');
    await moduleRef.close();
  });

  it('answers an unknown topic OK with a null payload, and counts it', async () => {
    expect(await registry.dispatch(REMOTE, msg('nobody_listens'))).toEqual({ status: 'OK', err: '', payload: null });
    expect(await registry.dispatch(REMOTE, msg('nobody_listens'))).toEqual({ status: 'OK', err: '', payload: null });
    expect(await unknownCount()).toBe(2);
  });

  it('passes the sender and message to the handler and returns what it returns as the payload', async () => {
    const calls: unknown[] = [];
    registry.register('echo', async (remote, m) => {
      calls.push([remote, m]);
      return { got: m.payload };
    });
    registry.register('nothing', () => undefined);
    expect(await registry.dispatch(REMOTE, msg('echo', { a: 1 }))).toEqual({ status: 'OK', err: '', payload: { got: { a: 1 } } });
    expect(calls).toEqual([[REMOTE, msg('echo', { a: 1 })]]);
    expect(await registry.dispatch(REMOTE, msg('nothing'))).toEqual({ status: 'OK', err: '', payload: null });
    expect(await unknownCount()).toBe(0);
  });

  it('turns a thrown error into FAIL with its text, synchronous or not', async () => {
    registry.register('sync_throw', () => {
      throw new Error('channel is no longer shared: c1');
    });
    registry.register('async_reject', async () => Promise.reject(new Error('boom')));
    registry.register('throws_string', () => {
      throw 'plain string';
    });
    expect(await registry.dispatch(REMOTE, msg('sync_throw'))).toEqual({ status: 'FAIL', err: 'channel is no longer shared: c1', payload: null });
    expect(await registry.dispatch(REMOTE, msg('async_reject'))).toEqual({ status: 'FAIL', err: 'boom', payload: null });
    expect(await registry.dispatch(REMOTE, msg('throws_string'))).toEqual({ status: 'FAIL', err: 'plain string', payload: null });
  });
});
