import { BlockList, isIP } from 'node:net';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AppError } from '../common/app-error.js';
import { safeEqual } from '../common/secrets.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';

/** A BlockList of CIDRs (bare addresses are single hosts); IPv4-mapped IPv6 clients match IPv4 entries. */
export function networkList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of cidrs) {
    const [address, prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(address, prefix === undefined ? (family === 'ipv6' ? 128 : 32) : Number(prefix), family);
  }
  return list;
}

export function inNetworks(list: BlockList, address: string | undefined): boolean {
  if (!address || !isIP(address)) return false;
  return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * /metrics for the scraper only, when the operator says so: METRICS_ALLOWED_NETWORKS limits the client address
 * (req.ip: the socket's peer, or with TRUST_PROXY the client the load balancer names), METRICS_TOKEN requires
 * `Authorization: Bearer <token>`. Either, both, or neither (the default: open, as before).
 */
@Injectable()
export class MetricsAccessGuard implements CanActivate {
  private readonly networks: BlockList | null;
  private readonly token: string | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.networks = config.metrics.allowedNetworks.length ? networkList(config.metrics.allowedNetworks) : null;
    this.token = config.metrics.token;
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    if (this.networks && !inNetworks(this.networks, req.ip)) {
      throw new AppError('api.context.permissions.app_error', 'You do not have the appropriate permissions.', 403, 'client address not in METRICS_ALLOWED_NETWORKS');
    }
    if (this.token !== undefined) {
      const presented = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!presented || !safeEqual(presented, this.token)) throw AppError.unauthorized();
    }
    return true;
  }
}
