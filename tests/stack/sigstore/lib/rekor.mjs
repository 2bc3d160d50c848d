// Rekor v1 on top of @sigstore/mock's transparency log (real SETs, signed checkpoints and
// inclusion proofs; the mock proves each entry against a one-leaf tree of its own).
//
// What this adds to the mock, as real Rekor behaves:
// - Proposed entries are stored in canonical form: hashedrekord 0.0.1 keeps only data.hash and
//   signature{content, publicKey}; dsse 0.0.1 is verified and stored as envelopeHash,
//   payloadHash and signatures[{signature, verifier}] (sigstore-js rejects the raw proposal).
// - The entry UUID is the RFC 6962 leaf hash of the canonical body (prefixed with a tree ID as
//   a sharded Rekor does); uploading an equivalent entry again answers 409 with `Location`.
// - Entries can be read back by UUID, by log index, and through /retrieve.

import canonicalize from 'canonicalize';
import crypto from 'node:crypto';
import { HttpError } from './fulcio.mjs';

export const ENTRIES_PATH = '/api/v1/log/entries';
export const RETRIEVE_PATH = '/api/v1/log/entries/retrieve';
export const LOG_PATH = '/api/v1/log';
export const PUBLIC_KEY_PATH = '/api/v1/log/publicKey';

const HASH_LENGTHS = { sha256: 64, sha384: 96, sha512: 128 };

function requireString(value, what) {
  if (typeof value !== 'string' || !value) throw new HttpError(400, `${what} is missing`);
  return value;
}

function canonicalHashedRekord(spec) {
  const algorithm = requireString(spec?.data?.hash?.algorithm, 'spec.data.hash.algorithm');
  const value = requireString(spec?.data?.hash?.value, 'spec.data.hash.value');
  if (HASH_LENGTHS[algorithm] !== value.length || !/^[0-9a-f]+$/.test(value)) {
    throw new HttpError(400, `spec.data.hash is not a valid ${algorithm} hex digest`);
  }
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm, value } },
      signature: {
        content: requireString(spec?.signature?.content, 'spec.signature.content'),
        publicKey: {
          content: requireString(spec?.signature?.publicKey?.content, 'spec.signature.publicKey'),
        },
      },
    },
  };
}

function preAuthEncoding(payloadType, payload) {
  const prefix = `DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `;
  return Buffer.concat([Buffer.from(prefix, 'utf8'), payload]);
}

// The verifier as Rekor stores it: base64 of the certificate's PEM, re-encoded canonically.
function parseVerifier(b64Pem) {
  try {
    const cert = new crypto.X509Certificate(Buffer.from(b64Pem, 'base64'));
    return { key: cert.publicKey, canonical: Buffer.from(cert.toString()).toString('base64') };
  } catch {
    throw new HttpError(400, 'a dsse verifier is not base64 of a PEM certificate');
  }
}

function canonicalDsse(spec) {
  const envelopeText = requireString(spec?.proposedContent?.envelope, 'spec.proposedContent.envelope');
  let envelope;
  try {
    envelope = JSON.parse(envelopeText);
  } catch {
    throw new HttpError(400, 'spec.proposedContent.envelope is not JSON');
  }
  const payload = Buffer.from(requireString(envelope.payload, 'envelope payload'), 'base64');
  const pae = preAuthEncoding(requireString(envelope.payloadType, 'envelope payloadType'), payload);
  const verifiers = (spec.proposedContent.verifiers || []).map(parseVerifier);
  const signatures = (envelope.signatures || []).map((s) => {
    const sig = requireString(s.sig, 'envelope signature');
    const found = verifiers.find((v) => crypto.verify('sha256', pae, v.key, Buffer.from(sig, 'base64')));
    if (!found) throw new HttpError(400, 'all signatures must have a key that verifies it');
    return { signature: sig, verifier: found.canonical };
  });
  if (signatures.length === 0) throw new HttpError(400, 'the envelope has no signatures');
  signatures.sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
  const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelopeText, 'utf8')) },
      payloadHash: { algorithm: 'sha256', value: sha256(payload) },
      signatures,
    },
  };
}

export function canonicalEntry(proposed) {
  const kind = proposed?.kind;
  const version = proposed?.apiVersion;
  if (kind === 'hashedrekord' && version === '0.0.1') return canonicalHashedRekord(proposed.spec);
  if (kind === 'dsse' && version === '0.0.1') return canonicalDsse(proposed.spec);
  throw new HttpError(400, `unsupported entry type ${kind} ${version}`);
}

function leafHash(body) {
  return crypto.createHash('sha256').update(Buffer.from([0])).update(body).digest('hex');
}

export function createRekor({ tlog, publicKeyDer }) {
  const treeId = crypto.randomBytes(8).toString('hex');
  const byLeaf = new Map(); // leaf hash -> { uuid, entry }
  const byIndex = new Map(); // log index -> leaf hash
  let duplicates = 0;

  function find(uuidOrLeaf) {
    const leaf = uuidOrLeaf.length === 80 ? uuidOrLeaf.slice(16) : uuidOrLeaf;
    return byLeaf.get(leaf.toLowerCase());
  }

  async function create(request) {
    let proposed;
    try {
      proposed = JSON.parse(request.body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'request body is not JSON');
    }
    const canonical = canonicalEntry(proposed);
    const leaf = leafHash(Buffer.from(canonicalize(canonical), 'utf8'));
    const existing = byLeaf.get(leaf);
    if (existing) {
      duplicates += 1;
      const location = `${ENTRIES_PATH}/${existing.uuid}`;
      const message = `An equivalent entry already exists in the transparency log with UUID ${existing.uuid}`;
      return { status: 409, json: { code: 409, message }, headers: { Location: location } };
    }
    let logged;
    do {
      logged = Object.values(await tlog.log(canonical))[0];
    } while (byIndex.has(logged.logIndex));
    const uuid = `${treeId}${leaf}`;
    byLeaf.set(leaf, { uuid, entry: logged });
    byIndex.set(logged.logIndex, leaf);
    const headers = { Location: `${ENTRIES_PATH}/${uuid}`, ETag: uuid };
    return { status: 201, json: { [uuid]: logged }, headers };
  }

  function getByUuid(uuid) {
    const found = find(uuid);
    if (!found) throw new HttpError(404, `entry ${uuid} not found`);
    return { status: 200, json: { [found.uuid]: found.entry } };
  }

  function getByIndex(query) {
    const index = Number(query.get('logIndex'));
    if (!query.has('logIndex') || !Number.isSafeInteger(index) || index < 0) {
      throw new HttpError(400, 'logIndex must be a non-negative integer');
    }
    const leaf = byIndex.get(index);
    if (!leaf) throw new HttpError(404, `no entry with logIndex ${index}`);
    return getByUuid(leaf);
  }

  function retrieve(request) {
    let query;
    try {
      query = JSON.parse(request.body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'request body is not JSON');
    }
    const leaves = [
      ...(query.entryUUIDs || []).map((u) => find(String(u))?.uuid.slice(16)),
      ...(query.logIndexes || []).map((i) => byIndex.get(Number(i))),
      ...(query.entries || []).map((e) => leafHash(Buffer.from(canonicalize(canonicalEntry(e)), 'utf8'))),
    ];
    const results = [];
    for (const leaf of leaves) {
      const found = leaf && byLeaf.get(leaf);
      if (found) results.push({ [found.uuid]: found.entry });
    }
    return { status: 200, json: results };
  }

  // The mock keeps no single tree; report the latest entry's signed checkpoint as the head.
  function logInfo() {
    const leaves = [...byLeaf.values()];
    const last = leaves[leaves.length - 1];
    if (!last) return { status: 200, json: { treeSize: 0, rootHash: '', signedTreeHead: '', treeID: treeId } };
    const proof = last.entry.verification.inclusionProof;
    const json = {
      rootHash: proof.rootHash,
      treeSize: proof.treeSize,
      signedTreeHead: proof.checkpoint,
      treeID: treeId,
      inactiveShards: [],
    };
    return { status: 200, json };
  }

  function publicKey() {
    const pem = crypto.createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' });
    return { status: 200, text: pem.export({ format: 'pem', type: 'spki' }), type: 'application/x-pem-file' };
  }

  return {
    create,
    getByUuid,
    getByIndex,
    retrieve,
    logInfo,
    publicKey,
    stats: () => ({ entries: byLeaf.size, duplicates }),
  };
}
