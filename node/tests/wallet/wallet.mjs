// What a Polkadot-JS wallet does against a Verity node, with @polkadot/api (pinned in
// package-lock.json): decode the metadata, read the chain's properties, submit a job as Alice
// and follow finalized blocks until its `jobs.JobFinalized`. Prints one JSON object for
// node/tests/e2e_smoke.rs to check. Usage: node wallet.mjs ws://127.0.0.1:9944
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';

const url = process.argv[2];
if (!url) {
  console.error('usage: node wallet.mjs WS_URL');
  process.exit(2);
}
const timeout = setTimeout(() => {
  console.error('no JobFinalized within 240 s');
  process.exit(1);
}, 240_000);

const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true, throwOnConnect: true });
const properties = await api.rpc.system.properties();
const metadata = api.runtimeMetadata.asLatest;
const report = {
  tokenSymbol: properties.tokenSymbol.unwrap()[0].toString(),
  tokenDecimals: properties.tokenDecimals.unwrap()[0].toNumber(),
  specVersion: api.runtimeVersion.specVersion.toNumber(),
  pallets: metadata.pallets.map((pallet) => pallet.name.toString()),
  // Every call of the market, as the wallet's metadata decoding names them.
  jobsCalls: Object.keys(api.tx.jobs),
};

// The model registry, decoded into the runtime's own types.
const entry = (await api.query.models.models(0)).unwrap();
report.model0 = entry.info.name.toUtf8();
const params = await api.query.jobs.params();
const minFee = entry.info.minFee.toBigInt();
const marketMin = params.minJobFee.toBigInt();
const fee = minFee > marketMin ? minFee : marketMin;
report.fee = fee.toString();

const alice = new Keyring({ type: 'sr25519' }).addFromUri('//Alice');
const input = { Generate: { prompt: 'Name a primary colour.', maxTokens: 8 } };
const jobId = await new Promise((resolve, reject) => {
  api.tx.jobs
    .submitJob(0, input, fee)
    .signAndSend(alice, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        reject(new Error(`submitJob failed: ${dispatchError.toString()}`));
      } else if (status.isInBlock) {
        const submitted = events.find(({ event }) => api.events.jobs.JobSubmitted.is(event));
        if (submitted) {
          resolve(submitted.event.data.jobId.toNumber());
        } else {
          reject(new Error('submitJob was included without a JobSubmitted event'));
        }
      }
    })
    .catch(reject);
});
report.jobId = jobId;

// Every finalized block in turn (a head notification can skip blocks when several are finalized
// at once) until the job's JobFinalized.
let next = (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber();
while (report.finalizedIn === undefined) {
  const head = (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber();
  for (; next <= head && report.finalizedIn === undefined; next++) {
    const at = await api.at(await api.rpc.chain.getBlockHash(next));
    for (const { event } of await at.query.system.events()) {
      if (api.events.jobs.JobFinalized.is(event) && event.data.jobId.toNumber() === jobId) {
        report.finalizedIn = next;
        report.worker = event.data.worker.toString();
        report.outputHash = event.data.outputHash.toHex();
        report.paid = event.data.paid.toString();
      }
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

clearTimeout(timeout);
console.log(JSON.stringify(report));
await api.disconnect();
process.exit(0);
