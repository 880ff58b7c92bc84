// Formatting shared by the pages: HTML escaping, VRT amounts, short addresses, job stages.

/** Escapes text for HTML (every value from the chain goes through this). */
export function esc(value) {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const DECIMALS = 12n;
const UNIT = 10n ** DECIMALS;

/** Planck (a BigInt or a codec) as `0.01VRT`, the CLI's notation. */
export function vrt(planck) {
  const value = BigInt(planck?.toString() ?? '0');
  const whole = value / UNIT;
  const fraction = (value % UNIT).toString().padStart(Number(DECIMALS), '0').replace(/0+$/, '');
  return `${whole}${fraction ? `.${fraction}` : ''}VRT`;
}

/** An address shortened for tables: the first and last six characters. */
export function short(address) {
  const text = String(address ?? '');
  return text.length > 16 ? `${text.slice(0, 6)}…${text.slice(-6)}` : text;
}

/** The CLI's word for a job's status variant (Pending → Submitted, Committed → Result). */
export function stage(status) {
  const words = { Pending: 'Submitted', Committed: 'Result' };
  return words[status.type] ?? status.type;
}

/** Every stage, in lifecycle order, for the filters. */
export const STAGES = ['Submitted', 'Assigned', 'Result', 'Disputed', 'Finalized', 'Refunded'];

/** The worker that was drawn or answered, if the status names one. */
export function workerOf(status) {
  const inner = status[`as${status.type}`];
  return inner?.worker?.toString() ?? null;
}

/** A hash or bytes as 0x-hex. */
export function hex(value) {
  return value?.toHex ? value.toHex() : String(value);
}

/** UTF-8 bytes (a codec) as text. */
export function text(bytes) {
  return bytes?.toUtf8 ? bytes.toUtf8() : String(bytes ?? '');
}

/** An embedding's stored IEEE-754 bits as numbers. */
export function floats(bits) {
  const words = Uint32Array.from(bits.map((b) => Number(b.toString())));
  return Array.from(new Float32Array(words.buffer));
}
