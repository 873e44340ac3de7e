import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { http } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';

const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
const DIR = 'deploy/prometheus';

/** PromQL functions, aggregations and keywords: every other bare identifier in an expression is a metric name. */
const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'predict_linear', 'histogram_quantile', 'abs', 'absent',
  'clamp_min', 'clamp_max', 'label_replace', 'label_values', 'time', 'vector', 'scalar', 'avg_over_time', 'max_over_time',
  'min_over_time', 'sum_over_time', 'count_over_time', 'resets', 'changes', 'round', 'ceil', 'floor', 'sort', 'sort_desc',
]);
/** Series Prometheus makes itself, not the server. */
const PROMETHEUS_OWN = new Set(['up']);

/** The metric names a PromQL expression reads. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ') // strings
    .replace(/\{[^{}]*\}/g, ' ') // label matchers
    .replace(/\[[^[\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // grouping labels
    .replace(/\$\w+/g, ' '); // Grafana variables
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    const after = stripped.slice(m.index! + word.length).trimStart();
    if (after.startsWith('(') || PROMQL_WORDS.has(word) || PROMETHEUS_OWN.has(word) || /^(?:Inf|NaN|e\d*)$/i.test(word)) continue;
    names.add(word);
  }
  return [...names];
}

function ruleExpressions(): string[] {
  // One `expr:` per rule (single-line in alerts.yml).
  return readFileSync(`${DIR}/alerts.yml`, 'utf8')
    .split('\n')
    .map((l) => /^\s*expr:(.+)$/.exec(l)?.[1].trim())
    .filter((e): e is string => !!e);
}

function dashboardExpressions(): string[] {
  const dash = JSON.parse(readFileSync('deploy/grafana/dashboard.json', 'utf8')) as {
    panels: Array<{ targets?: Array<{ expr: string }> }>;
    templating: { list: Array<{ definition?: string }> };
  };
  return [
    ...dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...dash.templating.list.map((v) => /label_values\((\w+)/.exec(v.definition ?? '')?.[1]).filter((e): e is string => !!e),
  ];
}

/** Names on /metrics (`# TYPE` lines), with a histogram's _bucket, _sum and _count series. */
function exported(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m[1]}${s}`);
    if (m[2] === 'summary') for (const s of ['_sum', '_count']) names.add(`${m[1]}${s}`);
  }
  return names;
}

describe('deploy/prometheus', () => {
  it('promtool accepts the alert rules and the scrape configuration', () => {
    const rules = spawnSync(PROMTOOL, ['check', 'rules', `${DIR}/alerts.yml`], { encoding: 'utf8' });
    expect(rules.error).toBeUndefined(); // CI installs Debian's prometheus package; a missing promtool fails here
    expect(`${rules.stdout}${rules.stderr}`).toContain('SUCCESS');
    expect(rules.status).toBe(0);
    const config = spawnSync(PROMTOOL, ['check', 'config', `${DIR}/prometheus.yml`], { encoding: 'utf8' });
    expect(`${config.stdout}${config.stderr}`).toContain('SUCCESS');
    expect(config.status).toBe(0);
  });

  it('every alert fires (and only) on the series its unit tests feed it (promtool test rules)', () => {
    const r = spawnSync(PROMTOOL, ['test', 'rules', `${DIR}/alerts.test.yml`], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('reads metric names out of PromQL', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (remote_id, le) (rate(a_bucket{x="y"}[5m]))) > 60')).toEqual(['a_bucket']);
    expect(metricNames('max(q) > 100 and deriv(max(q)[15m:1m]) > 0')).toEqual(['q']);
    expect(metricNames('up{job="mmfed"} == 0')).toEqual([]);
  });
});

describe('the dashboard and the alert rules against a running server', () => {
  let inst: Instance;
  afterAll(() => inst?.destroy());

  it('name only metrics that /metrics exports', async () => {
    // Every optional feature on, so every metric the server can export is registered.
    inst = await startInstance('monitoring', { ENABLE_GLOBAL_USER_SYNC: 'true', ENABLE_MEMBERSHIP_SYNC: 'true', CONSISTENCY_CHECK_INTERVAL_MS: '3600000' });
    const res = await http(inst, 'GET', '/metrics');
    expect(res.status).toBe(200);
    const names = exported(res.text);
    const used = new Map<string, string>();
    for (const expr of ruleExpressions()) for (const n of metricNames(expr)) used.set(n, `alerts.yml: ${expr}`);
    for (const expr of dashboardExpressions()) for (const n of metricNames(expr)) used.set(n, `dashboard.json: ${expr}`);
    // The dashboard covers what an operator starts from.
    for (const needed of ['remote_cluster_online', 'shared_channels_sync_lag_seconds_bucket', 'shared_channels_items_sent_total', 'shared_channels_items_received_total', 'shared_channels_item_errors_total', 'shared_channels_queue_size', 'shared_channels_parked_items', 'process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'websocket_connections', 'shared_channels_consistency_divergent_items_total']) {
      expect(used.has(needed)).toBe(true);
    }
    const missing = [...used].filter(([n]) => !names.has(n)).map(([n, where]) => `${n} (${where})`);
    expect(missing).toEqual([]);
  });
});
