// The trust files the stack writes at start: a trusted root (keys and CA certificates of this
// process), a signing config v0.2 (where to sign), and a ClientTrustConfig holding both, in the
// protobuf-JSON shapes sigstore-python and sigstore-js load.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';
export const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';
export const TRUST_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json';

const OPERATOR = 'shipsign-test-stack';

const b64 = (buf) => Buffer.from(buf).toString('base64');

function transparencyLog(baseUrl, spkiDer, keyId, start) {
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: b64(spkiDer),
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      validFor: { start },
    },
    logId: { keyId: b64(keyId) },
  };
}

function certificateAuthority(uri, commonName, chainDer, start) {
  return {
    subject: { organization: 'sigstore.mock', commonName },
    uri,
    certChain: { certificates: chainDer.map((der) => ({ rawBytes: b64(der) })) },
    validFor: { start },
  };
}

// Build the trusted root. `start` is an ISO time a little before any key was used, so that
// every certificate, SCT, entry and timestamp of this process falls inside `validFor`.
export function buildTrustedRoot({ baseUrl, start, ca, ctlog, tlogPublicKey, tsa }) {
  const rekorKeyId = crypto.createHash('sha256').update(tlogPublicKey).digest();
  const root = {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [transparencyLog(baseUrl, tlogPublicKey, rekorKeyId, start)],
    certificateAuthorities: [certificateAuthority(baseUrl, 'sigstore', [ca.rootCertificate], start)],
    ctlogs: [transparencyLog(`${baseUrl}/ct`, ctlog.publicKey, ctlog.logID, start)],
    timestampAuthorities: [],
  };
  if (tsa) {
    root.timestampAuthorities.push(
      certificateAuthority(
        `${baseUrl}/api/v1/timestamp`,
        'tsa',
        [tsa.intCertificate, tsa.rootCertificate],
        start,
      ),
    );
  }
  return root;
}

function service(url, start) {
  return { url, majorApiVersion: 1, validFor: { start }, operator: OPERATOR };
}

// Build the signing config: Fulcio and Rekor v1 at baseUrl; the TSA only when `withTsa`.
// No OIDC URL: tokens come from the GitHub Actions endpoint, never from a browser flow.
export function buildSigningConfig({ baseUrl, start, withTsa }) {
  return {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [service(baseUrl, start)],
    oidcUrls: [],
    rekorTlogUrls: [service(baseUrl, start)],
    tsaUrls: withTsa ? [service(`${baseUrl}/api/v1/timestamp`, start)] : [],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  };
}

export function buildTrustConfig(trustedRoot, signingConfig) {
  return { mediaType: TRUST_CONFIG_MEDIA_TYPE, trustedRoot, signingConfig };
}

// Write name -> object as pretty JSON files into dir, each atomically (tmp file + rename).
export function writeJsonFiles(dir, files) {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, value] of Object.entries(files)) {
    const target = path.join(dir, name);
    const tmp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
    fs.renameSync(tmp, target);
  }
}
