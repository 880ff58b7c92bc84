// The explorer's view of the chain: one @polkadot/api connection (types from the runtime's
// metadata, no hand-written bundle), a snapshot of the state the pages show, read at each new
// finalized block, and an index of the events of the finalized blocks seen.
//
// History: events are state, and a node that prunes keeps the last 256 blocks of it. At start
// the explorer reads the events of the last `history` finalized blocks (256 by default, more
// with `?history=N` against an archive node: `verity-node --state-pruning archive`, what
// `scripts/dev.sh --state-pruning archive` starts), then every finalized block as it comes.
// Whatever is older than the first block read is shown as missing, never guessed.
import { ApiPromise, WsProvider } from '@polkadot/api';

/** The most blocks of events kept in memory. */
const MAX_BLOCKS = 20_000;

export class Chain {
  constructor(url, history) {
    this.url = url;
    this.history = history;
    /** Block number → { number, events: [{ section, method, data }] }, finalized blocks only,
     * in ascending order (blocks are read in order). */
    this.blocks = new Map();
    /** Job id → its market events, oldest first (from the blocks in `blocks`). */
    this.byJob = new Map();
    /** Job id → the block a pruned job was submitted in (or null), once searched. */
    this.submissions = new Map();
    /** The first block whose events were read. */
    this.firstIndexed = null;
    this.finalized = 0;
    this.best = 0;
    this.connected = false;
    this.listeners = new Set();
    this.problem = null;
  }

  /** Calls `listener` after each change (a new block, the connection lost or back). */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify() {
    for (const listener of this.listeners) listener();
  }

  /** Connects (retrying every 2.5 s while the node is unreachable) and starts following. */
  async start() {
    const provider = new WsProvider(this.url, 2500);
    provider.on('connected', () => {
      this.connected = true;
      this.problem = null;
      this.notify();
    });
    provider.on('disconnected', () => {
      this.connected = false;
      this.problem = `lost the connection to ${this.url}; reconnecting…`;
      this.notify();
    });
    provider.on('error', () => {
      this.connected = false;
      this.problem = `cannot reach the node at ${this.url}; retrying every few seconds…`;
      this.notify();
    });
    this.api = await ApiPromise.create({ provider, noInitWarn: true });
    this.connected = true;
    this.problem = null;
    const [chain, name, version] = await Promise.all([
      this.api.rpc.system.chain(),
      this.api.rpc.system.name(),
      this.api.rpc.system.version(),
    ]);
    this.info = { chain: chain.toString(), node: `${name} ${version}` };
    await this.api.rpc.chain.subscribeNewHeads((header) => {
      this.best = header.number.toNumber();
      this.notify();
    });
    await this.api.rpc.chain.subscribeFinalizedHeads((header) => {
      this.onFinalized(header.number.toNumber()).catch((error) => {
        this.problem = `reading block ${header.number}: ${error.message}`;
        this.notify();
      });
    });
  }

  /** Indexes every finalized block up to `number` not indexed yet, then refreshes the state. */
  async onFinalized(number) {
    this.target = Math.max(this.target ?? 0, number);
    if (this.following) return;
    this.following = true;
    try {
      while (this.snapshot === undefined || this.finalized < this.target) {
        const target = this.target;
        if (this.firstIndexed === null) this.firstIndexed = Math.max(1, target - this.history + 1);
        for (let n = Math.max(this.finalized + 1, this.firstIndexed); n <= target; n += 1) {
          await this.index(n);
          if (n % 32 === 0) {
            this.loading = `reading the events of block ${n} of ${target}…`;
            this.notify();
          }
        }
        this.loading = null;
        this.finalized = target;
        await this.refresh(await this.api.rpc.chain.getBlockHash(target));
        if (this.connected) this.problem = null;
        this.notify();
      }
    } finally {
      this.following = false;
    }
  }

  /** Reads the events of block `number`; a block whose state the node has discarded moves the
   * start of history past it, any other failure is thrown (the block is read again later). */
  async index(number) {
    const hash = await this.api.rpc.chain.getBlockHash(number);
    let events;
    try {
      events = await (await this.api.at(hash)).query.system.events();
    } catch (error) {
      if (!/discarded|pruned|not found|unknown block/i.test(String(error?.message))) throw error;
      this.firstIndexed = Math.max(this.firstIndexed ?? 0, number + 1);
      return;
    }
    const block = {
      number,
      events: events.map(({ event }) => ({ section: event.section, method: event.method, data: event.data })),
    };
    this.blocks.set(number, block);
    for (const event of block.events) {
      const jobId = event.section === 'jobs' ? event.data.jobId?.toNumber?.() : undefined;
      if (jobId === undefined) continue;
      if (!this.byJob.has(jobId)) this.byJob.set(jobId, []);
      this.byJob.get(jobId).push({ block: number, ...event });
    }
    if (this.blocks.size > MAX_BLOCKS) this.evictOldest();
  }

  /** Forgets the oldest block read, and its events from the per-job lists. */
  evictOldest() {
    const [oldest, block] = this.blocks.entries().next().value;
    this.blocks.delete(oldest);
    this.firstIndexed = Math.max(this.firstIndexed ?? 0, oldest + 1);
    for (const event of block.events) {
      const jobId = event.section === 'jobs' ? event.data.jobId?.toNumber?.() : undefined;
      const list = jobId === undefined ? null : this.byJob.get(jobId);
      if (!list) continue;
      while (list.length && list[0].block <= oldest) list.shift();
      if (!list.length) this.byJob.delete(jobId);
    }
  }

  /** Everything the pages show, read at finalized block `hash` (the last block whose events
   * were read, so the state and the events agree). */
  async refresh(hash) {
    const api = this.api;
    const at = await api.at(hash);
    const [jobs, results, workers, ledgers, stats, models, juries, nextJobId, params, validators, proposals, health] =
      await Promise.all([
        at.query.jobs.jobs.entries(),
        at.query.jobs.results.entries(),
        at.query.workers.workers.entries(),
        at.query.workers.ledgers.entries(),
        at.query.workers.stats.entries(),
        at.query.models.models.entries(),
        at.query.jobs.juries.entries(),
        at.query.jobs.nextJobId(),
        at.query.jobs.params(),
        at.query.session.validators(),
        at.query.council.proposals(),
        api.rpc.system.health(),
      ]);
    // Maps with an OptionQuery give Options; ValueQuery maps give the value itself.
    const value = (v) => (typeof v.unwrap === 'function' && 'isSome' in v ? v.unwrap() : v);
    const byKey = (entries, key) => new Map(entries.map(([k, v]) => [key(k), value(v)]));
    const id = (k) => k.args[0].toNumber();
    const account = (k) => k.args[0].toString();
    const motions = await Promise.all(
      proposals.map(async (hash) => ({
        hash: hash.toHex(),
        call: await at.query.council.proposalOf(hash),
        voting: await at.query.council.voting(hash),
      })),
    );
    this.snapshot = {
      jobs: new Map(jobs.map(([k, v]) => [id(k), v.unwrap()]).sort((a, b) => a[0] - b[0])),
      results: new Map(results.map(([k, v]) => [id(k), v.unwrap()])),
      juries: new Map(juries.map(([k, v]) => [id(k), v.unwrap()])),
      workers: byKey(workers, account),
      ledgers: byKey(ledgers, account),
      stats: byKey(stats, account),
      models: new Map(models.map(([k, v]) => [id(k), v.unwrap()]).sort((a, b) => a[0] - b[0])),
      nextJobId: nextJobId.toNumber(),
      params,
      validators: validators.map((v) => v.toString()),
      motions,
      peers: health.peers.toNumber(),
    };
  }

  /** Every indexed event, oldest first, as { block, section, method, data }. */
  *events(filter = () => true) {
    for (const [number, block] of this.blocks) {
      for (const event of block.events) {
        const item = { block: number, ...event };
        if (filter(item)) yield item;
      }
    }
  }

  /** The indexed events of the market that name job `jobId`. */
  jobEvents(jobId) {
    return this.byJob.get(jobId) ?? [];
  }

  /**
   * Where a job that is no longer in state was submitted: the first block whose `NextJobId`
   * exceeds its id (a binary search over old state, which only an archive node keeps).
   * Returns the block number, or null when the node has no state that old.
   */
  async submissionBlock(jobId) {
    if (!this.submissions.has(jobId)) this.submissions.set(jobId, await this.searchSubmission(jobId));
    return this.submissions.get(jobId);
  }

  async searchSubmission(jobId) {
    const api = this.api;
    const next = async (n) => {
      const at = await api.at(await api.rpc.chain.getBlockHash(n));
      return (await at.query.jobs.nextJobId()).toNumber();
    };
    let low = 0;
    let high = this.finalized;
    try {
      while (low < high) {
        const middle = Math.floor((low + high) / 2);
        if ((await next(middle)) > jobId) high = middle;
        else low = middle + 1;
      }
      return low;
    } catch (error) {
      return null;
    }
  }
}
