// The pages: each a function of the chain's snapshot and event index, returning HTML. Every
// value from the chain is escaped (`esc`), and rows carry data-* attributes the browser test
// reads.
import { bars, histogram } from './charts.js';
import { esc, floats, hex, short, stage, STAGES, text, vrt, workerOf } from './format.js';

const link = (href, label) => `<a href="${esc(href)}">${esc(label)}</a>`;
const account = (address) => (address ? link(`#/worker/${address}`, short(address)) : '—');

function modelName(snapshot, id) {
  const entry = snapshot.models.get(Number(id));
  return entry ? `${text(entry.info.name)} v${text(entry.info.version)}` : `#${id}`;
}

/** Blocks from submission to result and to finality, from the state and the event index. */
function latency(chain, id, job) {
  const result = chain.snapshot.results.get(id);
  const toResult = result ? result.submittedAt.toNumber() - job.submittedAt.toNumber() : null;
  const finalized = chain.jobEvents(id).find((e) => e.method === 'JobFinalized');
  const toFinal = finalized ? finalized.block - job.submittedAt.toNumber() : null;
  return { toResult, toFinal };
}

/** `#/jobs`: every job in state, newest first, filtered by status and model. */
export function jobs(chain, query) {
  const { snapshot } = chain;
  const status = query.get('status') ?? '';
  const model = query.get('model') ?? '';
  const rows = [...snapshot.jobs.entries()]
    .reverse()
    .filter(([, job]) => (!status || stage(job.status) === status) && (!model || job.model.toString() === model))
    .map(([id, job]) => {
      const { toResult, toFinal } = latency(chain, id, job);
      return `<tr data-job-id="${id}" data-status="${esc(stage(job.status))}">
        <td>${link(`#/job/${id}`, id)}</td><td>${esc(modelName(snapshot, job.model))}</td>
        <td>${account(job.submitter.toString())}</td><td>${account(workerOf(job.status))}</td>
        <td class="status s-${esc(stage(job.status))}">${esc(stage(job.status))}</td><td class="num">${esc(vrt(job.fee))}</td>
        <td class="num">${esc(job.submittedAt)}</td><td class="num">${toResult ?? '—'}</td><td class="num">${toFinal ?? '—'}</td></tr>`;
    });
  const option = (value, label, selected) => `<option value="${esc(value)}"${selected ? ' selected' : ''}>${esc(label)}</option>`;
  return `<h2>Jobs</h2>
    <form class="filters" id="job-filters">
      <label>status <select name="status">${option('', 'any', !status)}${STAGES.map((s) => option(s, s, s === status)).join('')}</select></label>
      <label>model <select name="model">${option('', 'any', !model)}${[...snapshot.models.keys()].map((id) => option(id, modelName(snapshot, id), String(id) === model)).join('')}</select></label>
    </form>
    <table class="grid" id="jobs" data-filter="${esc(status)}"><thead><tr><th>id</th><th>model</th><th>submitter</th><th>worker</th><th>status</th><th>fee</th>
      <th>submitted</th><th title="blocks from submission to the result">→ result</th><th title="blocks from submission to finality">→ final</th></tr></thead>
      <tbody>${rows.join('') || '<tr><td colspan="9" class="muted">no jobs match</td></tr>'}</tbody></table>
    <p class="muted">${snapshot.jobs.size} jobs in state (settled ones stay until their retention ends); ${snapshot.nextJobId} submitted since genesis.</p>`;
}

/** The timeline of a job's indexed events. */
function timeline(chain, id, from) {
  const events = chain.jobEvents(id);
  const missing =
    from !== null && chain.firstIndexed !== null && from < chain.firstIndexed
      ? `<li class="muted">events before block ${chain.firstIndexed} are not loaded (history: ${chain.history} blocks; against an archive node, add <code>?history=N</code> to the URL for more)</li>`
      : '';
  const items = events.map((e) => {
    const fields = Object.entries(e.data.toHuman()).filter(([k]) => k !== 'jobId');
    return `<li data-event="${esc(e.method)}"><b>${esc(e.method)}</b> in block ${e.block} <small>${esc(fields.map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', '))}</small></li>`;
  });
  return `<ol class="timeline">${missing}${items.join('') || '<li class="muted">no events of this job in the blocks read</li>'}</ol>`;
}

/** `#/job/ID`: input, output, hashes, receipt, timeline, and the command that verifies it. */
export async function job(chain, id) {
  const { snapshot } = chain;
  const record = snapshot.jobs.get(id);
  if (!record) {
    if (!Number.isInteger(id) || id < 0 || id >= snapshot.nextJobId) {
      return `<h2>Job ${esc(id)}</h2><p class="notice" data-testid="not-found">Job ${esc(id)} was not found: ${snapshot.nextJobId} jobs have been submitted (ids 0–${snapshot.nextJobId - 1}).</p>`;
    }
    const block = await chain.submissionBlock(id);
    const where =
      block === null
        ? 'This node keeps no state that old, so its events cannot be found here: connect the explorer to an archive node (<code>verity-node --state-pruning archive</code>).'
        : `It was submitted in block ${block}: ${link(`https://polkadot.js.org/apps/?rpc=${encodeURIComponent(chain.url)}#/explorer/query/${block}`, `its events in Polkadot-JS Apps`)}; <code>verity job verify ${id} --archive --url ${esc(chain.url)}</code> still checks it against an archive node.`;
    return `<h2>Job ${id}</h2><p class="notice" data-testid="pruned">Job ${id} was pruned: its record was removed after its retention period. ${where}</p>`;
  }
  const result = snapshot.results.get(id);
  const input = record.input.isGenerate
    ? `<p>prompt <q data-testid="prompt">${esc(text(record.input.asGenerate.prompt))}</q>, at most ${esc(record.input.asGenerate.maxTokens)} tokens</p>`
    : `<ol>${record.input.asEmbed.texts.map((t) => `<li>${esc(text(t))}</li>`).join('')}</ol>`;
  let output = '<p class="muted">no result yet</p>';
  if (result) {
    if (result.output.isGenerated) {
      const generated = result.output.asGenerated;
      output = `<pre data-testid="output">${esc(text(generated.text))}</pre><p>${esc(generated.tokenIds.length)} tokens</p>`;
    } else {
      const embeddings = result.output.asEmbedded.embeddings;
      output = `<ul data-testid="output">${embeddings
        .map((e) => {
          const values = floats(e.bits);
          return `<li>${values.length} dimensions: [${values.slice(0, 4).map((v) => v.toFixed(6)).join(', ')}, …]</li>`;
        })
        .join('')}</ul>`;
    }
  }
  const worker = workerOf(record.status);
  const receiptKey = worker ? snapshot.workers.get(worker)?.receiptKey?.toHex() : null;
  const model = snapshot.models.get(record.model.toNumber());
  return `<h2>Job ${id} <span class="status s-${esc(stage(record.status))}" data-testid="status">${esc(stage(record.status))}</span></h2>
    <dl class="facts">
      <dt>model</dt><dd>${esc(modelName(snapshot, record.model))} (${esc(model?.info.policy.toString() ?? '')})</dd>
      <dt>submitter</dt><dd>${account(record.submitter.toString())}</dd>
      <dt>worker</dt><dd>${account(worker)}</dd>
      <dt>fee</dt><dd>${esc(vrt(record.fee))} (deposit ${esc(vrt(record.deposit))})</dd>
      <dt>submitted</dt><dd>block ${esc(record.submittedAt)}</dd>
      <dt>status</dt><dd><code>${esc(JSON.stringify(record.status.toHuman()))}</code></dd>
      <dt>model hash</dt><dd><code>${esc(model ? hex(model.info.modelHash) : '')}</code></dd>
      <dt>input hash</dt><dd><code>${esc(hex(record.inputHash))}</code></dd>
      <dt>output hash</dt><dd><code data-testid="output-hash">${esc(result ? hex(result.outputHash) : '—')}</code></dd>
      <dt>receipt</dt><dd>${result ? `<code>${esc(hex(result.receiptSignature))}</code> by key <code>${esc(receiptKey ?? 'unknown (worker gone)')}</code>` : '—'}</dd>
      <dt>result block</dt><dd>${result ? esc(result.submittedAt) : '—'}</dd>
    </dl>
    <h3>Input</h3>${input}<h3>Output</h3>${output}
    <h3>Verify it yourself</h3><pre data-testid="verify">verity job verify ${id} --url ${esc(chain.url)}</pre>
    <p class="muted">Re-runs the job on your machine with the model's files and checks the output and the worker's receipt: don't trust, verify.</p>
    <h3>Timeline</h3>${timeline(chain, id, record.submittedAt.toNumber())}`;
}

const WORKER_HEAD = `<thead><tr><th>account</th><th>status</th><th>bond</th><th>reserved</th>
    <th>models (busy/capacity)</th><th>jobs done</th><th>faults</th><th>slashed</th><th>last active</th></tr></thead>`;

/** One worker's row: bond, reserved, models, counters. */
function workerRow(snapshot, address, info) {
  const ledger = snapshot.ledgers.get(address);
  const stats = snapshot.stats.get(address);
  const faults = stats ? Object.entries(stats.faults.toJSON()).map(([k, v]) => `${k} ${v}`).join(', ') : '';
  const models = info.models.map((m) => `${modelName(snapshot, m.model)} ${m.busy}/${m.capacity}`).join('; ');
  return `<tr data-worker="${esc(address)}"><td>${account(address)}</td><td>${esc(info.status.toString())}</td>
      <td class="num">${esc(vrt(ledger?.bonded ?? 0))}</td><td class="num">${esc(vrt(ledger?.reserved ?? 0))}</td><td>${esc(models)}</td>
      <td class="num" data-testid="jobs-done">${esc(stats?.jobsDone ?? 0)}</td><td>${esc(faults)}</td><td class="num">${esc(vrt(stats?.slashedTotal ?? 0))}</td>
      <td class="num">${esc(stats?.lastActive ?? '—')}</td></tr>`;
}

/** `#/workers`: every registered worker. */
export function workers(chain) {
  const { snapshot } = chain;
  const rows = [...snapshot.workers.entries()].map(([address, info]) => workerRow(snapshot, address, info));
  return `<h2>Workers</h2><table class="grid" id="workers">${WORKER_HEAD}
    <tbody>${rows.join('') || '<tr><td colspan="9" class="muted">no workers registered</td></tr>'}</tbody></table>`;
}

/** `#/worker/ADDRESS`: one worker and its history in the blocks read. */
export function worker(chain, address) {
  const { snapshot } = chain;
  const info = snapshot.workers.get(address);
  const names = (e) => Object.values(e.data.toJSON?.() ?? {}).some((v) => v === address);
  const history = [...chain.events((e) => e.section === 'jobs' && names(e))].reverse().slice(0, 200);
  const header = info
    ? `<dl class="facts"><dt>status</dt><dd>${esc(info.status.toString())}</dd><dt>receipt key</dt><dd><code>${esc(info.receiptKey.toHex())}</code></dd>
       <dt>registered</dt><dd>block ${esc(info.registeredAt)}</dd></dl>`
    : '<p class="notice">not a registered worker (it may have left; its history in the blocks read is below)</p>';
  const items = history.map((e) => `<li><b>${esc(e.method)}</b> in block ${e.block}${e.data.jobId ? ` — ${link(`#/job/${e.data.jobId}`, `job ${e.data.jobId}`)}` : ''}</li>`);
  return `<h2>Worker ${esc(short(address))}</h2><p><code>${esc(address)}</code></p>${header}
    ${info ? `<table class="grid">${WORKER_HEAD}<tbody>${workerRow(snapshot, address, info)}</tbody></table>` : ''}
    <h3>History</h3><ol class="timeline">${items.join('') || '<li class="muted">nothing in the blocks read</li>'}</ol>`;
}

/** `#/disputes`: open disputes with their juries and revealed votes, and recent verdicts. */
export function disputes(chain) {
  const { snapshot } = chain;
  const open = [...snapshot.jobs.entries()].filter(([, j]) => j.status.isDisputed);
  const openRows = open.map(([id, j]) => {
    const d = j.status.asDisputed;
    const jury = snapshot.juries.get(id);
    // This round's votes: those after the last jury drawn.
    const history = chain.jobEvents(id);
    const drawn = history.map((e) => e.method).lastIndexOf('JuryDrawn');
    const votes = history.slice(drawn + 1).filter((e) => e.method === 'VoteRevealed' || e.method === 'VoteCommitted');
    return `<tr data-dispute="${id}"><td>${link(`#/job/${id}`, id)}</td><td>${account(d.worker.toString())}</td>
      <td>${d.challenger.isSome ? account(d.challenger.unwrap().toString()) : 'audit'}</td><td class="num">${esc(d.round)}</td>
      <td>${jury ? jury.members.map((m) => account(m[0].toString())).join(' ') : d.byCouncil.isTrue ? 'the council' : 'to be drawn'}</td>
      <td>${esc(votes.map((v) => `${v.method === 'VoteRevealed' ? (v.data.confirms.isTrue ? 'confirms' : 'rejects') : 'committed'} (${short(v.data.juror.toString())})`).join(', ') || '—')}</td>
      <td class="num">${esc(d.resolveAt)}</td></tr>`;
  });
  const verdicts = [...chain.events((e) => e.section === 'jobs' && e.method === 'DisputeResolved')].reverse().map((e) => {
    const id = e.data.jobId.toNumber();
    const slashes = chain.jobEvents(id).filter((x) => x.method === 'WorkerSlashed');
    return `<tr><td>${link(`#/job/${id}`, id)}</td><td>${e.block}</td><td>${esc(e.data.outcome.toString())}</td>
      <td class="num">${esc(e.data.confirming)} / ${esc(e.data.rejecting)}</td>
      <td>${esc(slashes.map((s) => `${short(s.data.who.toString())} −${vrt(s.data.amount)} (${s.data.fault})`).join(', ') || '—')}</td></tr>`;
  });
  return `<h2>Disputes</h2><h3>Open</h3><table class="grid"><thead><tr><th>job</th><th>worker</th><th>disputed by</th><th>round</th><th>jury</th><th>votes</th><th>resolves at</th></tr></thead>
    <tbody>${openRows.join('') || '<tr><td colspan="7" class="muted">no job is in dispute</td></tr>'}</tbody></table>
    <h3>Resolved (blocks read)</h3><table class="grid"><thead><tr><th>job</th><th>block</th><th>outcome</th><th>confirming / rejecting</th><th>slashed</th></tr></thead>
    <tbody>${verdicts.join('') || '<tr><td colspan="5" class="muted">no verdict in the blocks read</td></tr>'}</tbody></table>`;
}

/** `#/registry`: the models and the council's motions about them. */
export function registry(chain) {
  const { snapshot } = chain;
  const rows = [...snapshot.models.entries()].map(([id, entry]) => {
    const info = entry.info;
    return `<tr data-model="${id}"><td>${id}</td><td>${esc(text(info.name))}</td><td>${esc(text(info.version))}</td><td>${esc(info.kind.toString())}</td>
      <td class="status s-${esc(entry.status.toString())}">${esc(entry.status.toString())}</td><td>${esc(info.policy.toString())}</td>
      <td class="num">${esc(vrt(info.minFee))}</td><td><code title="${esc(hex(info.modelHash))}">${esc(hex(info.modelHash).slice(0, 18))}…</code></td></tr>`;
  });
  const motions = snapshot.motions.map((m) => {
    const call = m.call.isSome ? m.call.unwrap() : null;
    const voting = m.voting.isSome ? m.voting.unwrap() : null;
    const what = call ? `${call.section}.${call.method}(${JSON.stringify(call.toHuman().args)})` : 'unknown call';
    return `<tr><td class="num">${esc(voting?.index ?? '—')}</td><td><code>${esc(what)}</code></td>
      <td>${voting ? esc(`${voting.ayes.length} aye, ${voting.nays.length} nay of threshold ${voting.threshold}`) : '—'}</td>
      <td>${voting ? `block ${esc(voting.end)}` : '—'}</td></tr>`;
  });
  return `<h2>Registry</h2><table class="grid" id="models"><thead><tr><th>id</th><th>name</th><th>version</th><th>kind</th><th>status</th><th>policy</th><th>fee floor</th><th>model hash</th></tr></thead>
    <tbody>${rows.join('')}</tbody></table>
    <h3>Council motions</h3><table class="grid"><thead><tr><th>#</th><th>call</th><th>votes</th><th>ends</th></tr></thead>
    <tbody>${motions.join('') || '<tr><td colspan="4" class="muted">no open motion</td></tr>'}</tbody></table>`;
}

/** `#/`: the network, and charts over the blocks read. */
export function overview(chain, query) {
  const { snapshot } = chain;
  const span = Math.max(10, Number(query.get('blocks') ?? 100));
  const last = chain.finalized;
  const blocks = [];
  for (let n = Math.max(chain.firstIndexed ?? last, last - span + 1); n <= last; n += 1) blocks.push(n);
  const count = (method) => (b) => (chain.blocks.get(b)?.events ?? []).filter((e) => e.section === 'jobs' && e.method === method).length;
  // Summed in planck (BigInt); the bars' heights in mVRT (10^9 planck).
  const paidPlanck = (b) =>
    (chain.blocks.get(b)?.events ?? [])
      .filter((e) => e.section === 'jobs' && e.method === 'JobFinalized')
      .reduce((sum, e) => sum + BigInt(e.data.paid.toString()), 0n);
  const paid = (b) => Number(paidPlanck(b)) / 1e9;
  const paidTotal = vrt(blocks.reduce((sum, b) => sum + paidPlanck(b), 0n));
  const latencies = [...snapshot.jobs.entries()]
    .map(([id, j]) => latency(chain, id, j).toResult)
    .filter((v) => v !== null);
  return `<h2>Network</h2><dl class="facts" id="network">
      <dt>chain</dt><dd>${esc(chain.info?.chain ?? '')} (${esc(chain.info?.node ?? '')})</dd>
      <dt>best block</dt><dd data-testid="best">${chain.best}</dd><dt>finalized block</dt><dd data-testid="finalized">${chain.finalized}</dd>
      <dt>peers</dt><dd>${snapshot.peers} (system_health)</dd>
      <dt>validators</dt><dd>${snapshot.validators.map((v) => `<code>${esc(short(v))}</code>`).join(' ')}</dd>
      <dt>history</dt><dd>events of blocks ${chain.firstIndexed ?? '—'}–${chain.finalized} read (${chain.blocks.size} blocks)</dd></dl>
    <h2>Last ${blocks.length} blocks</h2>
    ${bars('Jobs per block', blocks, [
      { name: 'submitted', color: '#4a7bd0', value: count('JobSubmitted') },
      { name: 'finalized', color: '#3a9d5d', value: count('JobFinalized') },
      { name: 'refunded', color: '#d08a2e', value: count('JobRefunded') },
    ])}
    ${bars('Slashes per block', blocks, [{ name: 'slashes', color: '#c0392b', value: count('WorkerSlashed') }])}
    ${bars('Fees paid to workers per block', blocks, [{ name: 'paid', color: '#8e6bbf', value: paid, total: paidTotal }], { unit: ' mVRT' })}
    ${histogram('Inference latency: blocks from submission to result (jobs in state)', latencies, 'blocks')}`;
}

/** The jobs page's filter form changes the hash (so a filtered view can be shared). */
export function bindFilters(root) {
  const form = root.querySelector('#job-filters');
  if (!form) return;
  form.addEventListener('change', () => {
    const params = new URLSearchParams(new FormData(form));
    for (const [k, v] of [...params.entries()]) if (!v) params.delete(k);
    location.hash = `#/jobs${params.size ? `?${params}` : ''}`;
  });
}

