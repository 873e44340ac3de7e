import { inNetworks, networkList } from './metrics-access.guard.js';

/** The CIDR matching behind METRICS_ALLOWED_NETWORKS; addresses are data, nothing connects. */
describe('metrics network list', () => {
  it('matches IPv4 and IPv6 networks, bare hosts, and IPv4-mapped clients', () => {
    const list = networkList(['10.1.0.0/16', '192.0.2.7', 'fd00::/8', '::1']);
    expect(inNetworks(list, '10.1.200.3')).toBe(true);
    expect(inNetworks(list, '::ffff:10.1.200.3')).toBe(true);
    expect(inNetworks(list, '10.2.0.1')).toBe(false);
    expect(inNetworks(list, '192.0.2.7')).toBe(true);
    expect(inNetworks(list, '192.0.2.8')).toBe(false);
    expect(inNetworks(list, 'fd12::1')).toBe(true);
    expect(inNetworks(list, '::1')).toBe(true);
    expect(inNetworks(list, '127.0.0.1')).toBe(false);
    expect(inNetworks(list, undefined)).toBe(false);
    expect(inNetworks(list, 'not-an-ip')).toBe(false);
  });
});
