// ECDSA P-256 verification of a precomputed digest. Node's crypto always hashes the message
// itself, so a bundle checked against `--digest` (no artifact bytes) needs this. Test code: it
// is not constant-time and only verifies.

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const A = P - 3n;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};

const mod = (a, m) => ((a % m) + m) % m;

function inverse(a, m) {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

// Affine point addition; `null` is the point at infinity.
function add(p1, p2) {
  if (p1 === null) return p2;
  if (p2 === null) return p1;
  let slope;
  if (p1.x === p2.x) {
    if (mod(p1.y + p2.y, P) === 0n) return null;
    slope = mod((3n * p1.x * p1.x + A) * inverse(2n * p1.y, P), P);
  } else {
    slope = mod((p2.y - p1.y) * inverse(p2.x - p1.x, P), P);
  }
  const x = mod(slope * slope - p1.x - p2.x, P);
  return { x, y: mod(slope * (p1.x - x) - p1.y, P) };
}

function multiply(k, point) {
  let result = null;
  let addend = point;
  for (let bits = k; bits > 0n; bits >>= 1n) {
    if (bits & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}

const toBigInt = (buf) => (buf.length === 0 ? 0n : BigInt(`0x${Buffer.from(buf).toString('hex')}`));

// Parse a DER ECDSA-Sig-Value: SEQUENCE { INTEGER r, INTEGER s } (short lengths only, as P-256 needs).
function parseSignature(der) {
  if (der[0] !== 0x30 || der[1] !== der.length - 2) throw new Error('signature is not DER ECDSA');
  const ints = [];
  let at = 2;
  for (let i = 0; i < 2; i += 1) {
    if (der[at] !== 0x02) throw new Error('signature is not DER ECDSA');
    const len = der[at + 1];
    ints.push(toBigInt(der.subarray(at + 2, at + 2 + len)));
    at += 2 + len;
  }
  return { r: ints[0], s: ints[1] };
}

// Verify a DER signature over a 32-byte digest with a Node KeyObject holding a P-256 key.
export function verifyDigest(publicKey, digest, signatureDer) {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new Error('only P-256 keys are supported with --digest');
  const q = { x: toBigInt(Buffer.from(jwk.x, 'base64url')), y: toBigInt(Buffer.from(jwk.y, 'base64url')) };
  let sig;
  try {
    sig = parseSignature(Buffer.from(signatureDer));
  } catch {
    return false;
  }
  if (sig.r <= 0n || sig.r >= N || sig.s <= 0n || sig.s >= N) return false;
  const e = toBigInt(digest);
  const w = inverse(sig.s, N);
  const point = add(multiply(mod(e * w, N), G), multiply(mod(sig.r * w, N), q));
  return point !== null && mod(point.x, N) === sig.r;
}
