// An independent verifier for cross-checks, on @sigstore/verify (sigstore-js):
//
//   node verify.mjs --bundle B --trusted-root T --san S --issuer I (--artifact F | --digest sha256:HEX)
//
// Verifies a Sigstore bundle (message signature or DSSE) against a trusted_root.json: the
// certificate chain and SCT, the transparency log entry (inclusion proof, checkpoint, SET),
// timestamps, the signature, then the identity: the SAN must equal S (`--san-regexp` for a
// regular expression) and the OIDC issuer extension must equal I. For a DSSE bundle the in-toto
// statement must name the artifact's SHA-256 among its subjects.
// Exit 0 and "OK ..." on stdout when it verifies; 1 and "FAIL: ..." on stderr when it does not;
// 2 for bad usage or unreadable input.

import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyDigest } from './lib/p256.mjs';

class UsageError extends Error {}

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        bundle: { type: 'string' },
        'trusted-root': { type: 'string' },
        san: { type: 'string' },
        'san-regexp': { type: 'string' },
        issuer: { type: 'string' },
        artifact: { type: 'string' },
        digest: { type: 'string' },
      },
    }));
  } catch (err) {
    throw new UsageError(err.message);
  }
  const missing = ['bundle', 'trusted-root', 'issuer'].filter((k) => !values[k]);
  if (missing.length) throw new UsageError(`missing --${missing.join(', --')}`);
  if (!values.san === !values['san-regexp']) throw new UsageError('give one of --san, --san-regexp');
  if (!values.artifact === !values.digest) throw new UsageError('give one of --artifact, --digest');
  return values;
}

function readJson(path, what) {
  try {
    return JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${err.message}`);
  }
}

function expectedDigest(values) {
  if (values.artifact) {
    let bytes;
    try {
      bytes = fs.readFileSync(values.artifact);
    } catch (err) {
      throw new UsageError(`cannot read artifact ${values.artifact}: ${err.message}`);
    }
    return { bytes, sha256: crypto.createHash('sha256').update(bytes).digest() };
  }
  const match = /^sha256:([0-9a-f]{64})$/.exec(values.digest);
  if (!match) throw new UsageError('--digest must be sha256:<64 lowercase hex>');
  return { bytes: undefined, sha256: Buffer.from(match[1], 'hex') };
}

// The signature content for a message signature checked against a digest, not the bytes.
function digestSignatureContent(messageSignature, sha256) {
  const signature = Buffer.from(messageSignature.signature);
  const bundleDigest = Buffer.from(messageSignature.messageDigest.digest);
  return {
    signature,
    compareSignature: (other) => Buffer.from(other).equals(signature),
    compareDigest: (other) => Buffer.from(other).equals(bundleDigest),
    verifySignature: (key) => bundleDigest.equals(sha256) && verifyDigest(key, sha256, signature),
  };
}

function checkStatementSubject(envelope, sha256) {
  if (envelope.payloadType !== 'application/vnd.in-toto+json') {
    throw new Error(`DSSE payloadType is ${envelope.payloadType}, not an in-toto statement`);
  }
  const statement = JSON.parse(Buffer.from(envelope.payload).toString('utf8'));
  const want = sha256.toString('hex');
  const subjects = Array.isArray(statement.subject) ? statement.subject : [];
  if (!subjects.some((s) => s?.digest?.sha256 === want)) {
    throw new Error(`no in-toto subject has sha256 ${want}`);
  }
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function verify(values) {
  const bundle = bundleFromJSON(readJson(values.bundle, 'bundle'));
  const trustedRoot = TrustedRoot.fromJSON(readJson(values['trusted-root'], 'trusted root'));
  const { bytes, sha256 } = expectedDigest(values);
  const content = bundle.content;
  const entity = toSignedEntity(bundle, content.$case === 'messageSignature' ? bytes : undefined);
  if (content.$case === 'messageSignature' && !bytes) {
    entity.signature = digestSignatureContent(content.messageSignature, sha256);
  }
  if (content.$case === 'dsseEnvelope') checkStatementSubject(content.dsseEnvelope, sha256);
  const san = values.san ? `^${escapeRegExp(values.san)}$` : values['san-regexp'];
  const verifier = new Verifier(toTrustMaterial(trustedRoot));
  const signer = verifier.verify(entity, { subjectAlternativeName: san, extensions: { issuer: values.issuer } });
  return `OK ${content.$case} signed by ${signer.identity?.subjectAlternativeName}`;
}

try {
  console.log(verify(options()));
} catch (err) {
  const usage = err instanceof UsageError;
  console.error(`${usage ? 'usage error' : 'FAIL'}: ${err.message}`);
  process.exit(usage ? 2 : 1);
}
