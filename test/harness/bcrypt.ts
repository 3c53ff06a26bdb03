/**
 * bcrypt ($2a$, as Go's golang.org/x/crypto/bcrypt writes it for random.RandomPassword.bcryptHash)
 * with no dependency: Blowfish's initial state is the hexadecimal expansion of pi, computed here
 * once with BigInt (Machin's formula) instead of a table of 1042 constants.
 */
import { randomBytes } from "node:crypto";

const P_WORDS = 18;
const S_WORDS = 4 * 256;

let initial: Uint32Array | undefined;

/** The first 18 + 1024 32-bit words of pi's fractional part: Blowfish's P-array and S-boxes. */
function piWords(): Uint32Array {
  if (initial) return initial;
  const words = P_WORDS + S_WORDS;
  const guard = 64n;
  const bits = BigInt(words * 32) + guard;
  const one = 1n << bits;
  const arctanInv = (x: bigint): bigint => {
    let sum = 0n;
    let power = one / x;
    const x2 = x * x;
    for (let k = 0n; power !== 0n; k++) {
      const term = power / (2n * k + 1n);
      sum = k % 2n === 0n ? sum + term : sum - term;
      power /= x2;
    }
    return sum;
  };
  const pi = 16n * arctanInv(5n) - 4n * arctanInv(239n);
  let frac = (pi - 3n * one) >> guard;
  const out = new Uint32Array(words);
  for (let i = words - 1; i >= 0; i--) {
    out[i] = Number(frac & 0xffffffffn);
    frac >>= 32n;
  }
  initial = out;
  return out;
}

class Blowfish {
  readonly p: Uint32Array;
  readonly s: Uint32Array;

  constructor() {
    const init = piWords();
    this.p = init.slice(0, P_WORDS);
    this.s = init.slice(P_WORDS);
  }

  private f(x: number): number {
    const s = this.s;
    return ((((s[x >>> 24]! + s[256 | ((x >>> 16) & 0xff)]!) >>> 0) ^ s[512 | ((x >>> 8) & 0xff)]!) + s[768 | (x & 0xff)]!) >>> 0;
  }

  /** Enciphers lr[off], lr[off + 1] in place. */
  encipher(lr: Uint32Array, off: number): void {
    const p = this.p;
    let l = lr[off]!;
    let r = lr[off + 1]!;
    l = (l ^ p[0]!) >>> 0;
    for (let i = 1; i <= 16; i += 2) {
      r = (r ^ this.f(l) ^ p[i]!) >>> 0;
      l = (l ^ this.f(r) ^ p[i + 1]!) >>> 0;
    }
    lr[off] = (r ^ p[17]!) >>> 0;
    lr[off + 1] = l;
  }

  /** Blowfish key expansion, salted as in bcrypt's EksBlowfishSetup when salt is given. */
  expand(key: Buffer, salt?: Buffer): void {
    const keyPos = { i: 0 };
    for (let i = 0; i < P_WORDS; i++) this.p[i] = (this.p[i]! ^ streamWord(key, keyPos)) >>> 0;
    const lr = new Uint32Array(2);
    const saltPos = { i: 0 };
    const fill = (target: Uint32Array, count: number) => {
      for (let i = 0; i < count; i += 2) {
        if (salt) {
          lr[0] = (lr[0]! ^ streamWord(salt, saltPos)) >>> 0;
          lr[1] = (lr[1]! ^ streamWord(salt, saltPos)) >>> 0;
        }
        this.encipher(lr, 0);
        target[i] = lr[0]!;
        target[i + 1] = lr[1]!;
      }
    };
    fill(this.p, P_WORDS);
    fill(this.s, S_WORDS);
  }
}

function streamWord(data: Buffer, pos: { i: number }): number {
  let word = 0;
  for (let k = 0; k < 4; k++) {
    word = ((word << 8) | data[pos.i]!) >>> 0;
    pos.i = (pos.i + 1) % data.length;
  }
  return word;
}

const ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function encode64(data: Buffer, chars: number): string {
  let out = "";
  for (let i = 0; i < data.length; i += 3) {
    const b0 = data[i]!;
    const b1 = data[i + 1] ?? 0;
    const b2 = data[i + 2] ?? 0;
    out += ALPHABET[b0 >> 2]! + ALPHABET[((b0 & 3) << 4) | (b1 >> 4)]!;
    out += ALPHABET[((b1 & 15) << 2) | (b2 >> 6)]! + ALPHABET[b2 & 63]!;
  }
  return out.slice(0, chars);
}

function decode64(text: string, bytes: number): Buffer {
  const values = [...text].map((c) => {
    const v = ALPHABET.indexOf(c);
    if (v < 0) throw new Error(`invalid bcrypt salt character ${JSON.stringify(c)}`);
    return v;
  });
  const out: number[] = [];
  for (let i = 0; i < values.length && out.length < bytes; i += 4) {
    const [c0 = 0, c1 = 0, c2 = 0, c3 = 0] = values.slice(i, i + 4);
    out.push(((c0 << 2) | (c1 >> 4)) & 0xff);
    if (out.length < bytes) out.push(((c1 << 4) | (c2 >> 2)) & 0xff);
    if (out.length < bytes) out.push(((c2 << 6) | c3) & 0xff);
  }
  return Buffer.from(out);
}

/**
 * bcrypt hash of `password`. `salt` is a full setting such as "$2a$10$<22 chars>"; when omitted a
 * random salt at `cost` is used (10 is Go's DefaultCost, the one random.RandomPassword uses).
 */
export function bcrypt(password: string, salt?: string, cost = 10): string {
  let version = "2a";
  let rounds = cost;
  let saltBytes: Buffer;
  if (salt) {
    const m = /^\$(2[abxy]?)\$(\d\d)\$([./A-Za-z0-9]{22})/.exec(salt);
    if (!m) throw new Error("invalid bcrypt salt setting");
    version = m[1]!;
    rounds = Number(m[2]);
    saltBytes = decode64(m[3]!, 16);
  } else {
    saltBytes = randomBytes(16);
  }
  if (rounds < 4 || rounds > 31) throw new Error(`bcrypt cost ${rounds} is out of range 4..31`);
  // The key is the password with its terminating NUL, at most 72 bytes.
  const key = Buffer.concat([Buffer.from(password, "utf8"), Buffer.from([0])]).subarray(0, 72);
  const bf = new Blowfish();
  bf.expand(key, saltBytes);
  for (let i = 0, n = 2 ** rounds; i < n; i++) {
    bf.expand(key);
    bf.expand(saltBytes);
  }
  const magic = Buffer.from("OrpheanBeholderScryDoubt", "latin1");
  const ctext = new Uint32Array(6);
  for (let i = 0; i < 6; i++) ctext[i] = magic.readUInt32BE(i * 4);
  for (let i = 0; i < 64; i++) for (let j = 0; j < 6; j += 2) bf.encipher(ctext, j);
  const out = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) out.writeUInt32BE(ctext[i]!, i * 4);
  const costText = String(rounds).padStart(2, "0");
  return `$${version}$${costText}$${encode64(saltBytes, 22)}${encode64(out.subarray(0, 23), 31)}`;
}

/** True when `password` matches the bcrypt `hash`. */
export function bcryptVerify(password: string, hash: string): boolean {
  return bcrypt(password, hash) === hash;
}
