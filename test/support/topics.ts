import { TopicRegistry, type TopicHandler } from '../../src/modules/remote-cluster/topic-registry.service.js';
import type { Instance } from './instance.js';

/**
 * Replaces an in-process instance's handler of a remote-cluster topic with `wrap(original)`, as a peer that
 * observes or delays what it receives; returns the function that puts the original back. Test-only: the
 * registry refuses a second registration, so this reaches into its table.
 */
export function wrapTopic(inst: Instance, topic: string, wrap: (original: TopicHandler) => TopicHandler): () => void {
  const handlers = (inst.app!.get(TopicRegistry) as unknown as { handlers: Map<string, TopicHandler> }).handlers;
  const original = handlers.get(topic);
  if (!original) throw new Error(`topic ${topic} is not registered on ${inst.name}`);
  handlers.set(topic, wrap(original));
  return () => handlers.set(topic, original);
}

/**
 * Removes a topic's handler from an in-process instance, so it answers that topic as Mattermost answers every topic
 * it does not know (OK, no payload); returns the function that puts it back. Test-only, like wrapTopic.
 */
export function unregisterTopic(inst: Instance, topic: string): () => void {
  const handlers = (inst.app!.get(TopicRegistry) as unknown as { handlers: Map<string, TopicHandler> }).handlers;
  const original = handlers.get(topic);
  if (!original) throw new Error(`topic ${topic} is not registered on ${inst.name}`);
  handlers.delete(topic);
  return () => handlers.set(topic, original);
}
