// Fulcio's POST /api/v2/signingCert and the legacy POST /api/v1/signingCert on top of
// @sigstore/mock's CA and CT log.
//
// Status codes and bodies are the real service's, because Go clients check them exactly:
// - v2 answers 200 with JSON (sigstore-go's Fulcio client, used by cosign v3, accepts only 200).
// - v1 answers 201 with the PEM chain as text, leaf first, and an `SCT` header that is empty when
//   the SCT is embedded (sigstore/fulcio pkg/api's client, used by cosign v2, accepts only 201).
//
// Adapters between what clients send and what the mock reads:
// - sigstore-python sends the OIDC token as `Authorization: Bearer` and the CSR as base64 of
//   its PEM; the mock wants `credentials.oidcIdentityToken` and a PEM CSR.
// - The mock puts the token's `sub` into the URI SAN. Real Fulcio builds the SAN of a GitHub
//   Actions token from `job_workflow_ref` (https://github.com/{job_workflow_ref}), so for that
//   issuer the token handed to the mock carries that URI as `sub`. All other claims are kept;
//   the mock copies them into the Fulcio OID extensions (1.1-1.6, 1.8-1.22).
// Like the mock, the token's signature is not checked; `aud`, `exp` and `nbf` are, as Fulcio does.

import mock from '@sigstore/mock';
import crypto from 'node:crypto';

export const SIGNING_CERT_PATH = '/api/v2/signingCert';
export const LEGACY_SIGNING_CERT_PATH = '/api/v1/signingCert';
export const LEGACY_ROOT_CERT_PATH = '/api/v1/rootCert';
export const TRUST_BUNDLE_PATH = '/api/v2/trustBundle';

const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const AUDIENCE = 'sigstore';
const LEEWAY_SECONDS = 5;

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function decodeSegment(segment) {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

function encodeSegment(value) {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function parseToken(token) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new HttpError(401, 'the identity token is not a JWT');
  try {
    return { header: decodeSegment(parts[0]), claims: decodeSegment(parts[1]), parts };
  } catch {
    throw new HttpError(401, 'the identity token is not a JWT');
  }
}

function checkClaims(claims) {
  const now = Date.now() / 1000;
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(AUDIENCE)) throw new HttpError(401, `token audience is not "${AUDIENCE}"`);
  if (typeof claims.iss !== 'string' || !claims.iss) throw new HttpError(401, 'token has no iss');
  if (typeof claims.exp !== 'number' || claims.exp + LEEWAY_SECONDS < now) {
    throw new HttpError(401, 'token is expired');
  }
  if (typeof claims.nbf === 'number' && claims.nbf - LEEWAY_SECONDS > now) {
    throw new HttpError(401, 'token is not valid yet');
  }
}

// The certificate identity real Fulcio derives from the claims.
export function subjectAlternativeName(claims) {
  if (claims.iss === GITHUB_ISSUER) {
    if (typeof claims.job_workflow_ref !== 'string' || !claims.job_workflow_ref) {
      throw new HttpError(400, 'GitHub Actions token has no job_workflow_ref claim');
    }
    return `https://github.com/${claims.job_workflow_ref}`;
  }
  if (typeof claims.sub !== 'string' || !claims.sub) throw new HttpError(400, 'token has no sub');
  return claims.sub;
}

function bearerToken(headers, body) {
  const auth = headers.authorization || '';
  const match = /^Bearer\s+(\S+)$/i.exec(auth);
  if (match) return match[1];
  const fromBody = body?.credentials?.oidcIdentityToken;
  if (typeof fromBody === 'string' && fromBody) return fromBody;
  throw new HttpError(401, 'no identity token: expected "Authorization: Bearer <token>"');
}

// sigstore-python: base64 of the PEM; sigstore-js/cosign: the PEM itself.
// v1 public keys: base64 of a PEM, or base64 of a DER SubjectPublicKeyInfo.
function publicKeyPem(value) {
  const decoded = Buffer.from(value, 'base64');
  const text = decoded.toString('utf8');
  if (text.includes('-----BEGIN PUBLIC KEY-----')) return text;
  try {
    const key = crypto.createPublicKey({ key: decoded, format: 'der', type: 'spki' });
    return key.export({ format: 'pem', type: 'spki' }).toString();
  } catch {
    throw new HttpError(400, 'publicKey.content is neither base64 of a PEM nor of a DER public key');
  }
}

function csrPem(value) {
  if (typeof value !== 'string' || !value) return undefined;
  if (value.includes('-----BEGIN')) return value;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  if (!decoded.includes('-----BEGIN CERTIFICATE REQUEST-----')) {
    throw new HttpError(400, 'certificateSigningRequest is neither a PEM nor base64 of a PEM');
  }
  return decoded;
}

export async function createFulcio({ ca }) {
  const handler = mock.fulcioHandler(ca, { strict: true });
  let issued = 0;

  async function signingCert(request) {
    let body;
    try {
      body = JSON.parse(request.body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'request body is not JSON');
    }
    const token = bearerToken(request.headers, body);
    const { header, claims, parts } = parseToken(token);
    checkClaims(claims);
    const san = subjectAlternativeName(claims);
    const forMock = [encodeSegment(header), encodeSegment({ ...claims, sub: san }), parts[2]];
    const mockBody = { credentials: { oidcIdentityToken: forMock.join('.') } };
    const csr = csrPem(body.certificateSigningRequest);
    if (csr) {
      mockBody.certificateSigningRequest = csr;
    } else if (body.publicKeyRequest?.publicKey?.content) {
      mockBody.publicKeyRequest = body.publicKeyRequest;
    } else {
      throw new HttpError(400, 'request has neither certificateSigningRequest nor publicKeyRequest');
    }
    return { status: 200, json: await issue(mockBody) };
  }

  // Ask the mock CA for a certificate; `body` is already in the shape the mock reads.
  async function issue(mockBody) {
    const result = await handler.fn(JSON.stringify(mockBody));
    if (result.statusCode !== 201) throw new HttpError(400, String(result.response));
    issued += 1;
    return JSON.parse(result.response);
  }

  // v1: {"publicKey": {"content": base64(PEM or DER), "algorithm"}, "signedEmailAddress",
  // "certificateSigningRequest"?: base64(PEM)}. The proof of possession is not checked (the
  // mock does not check v2's either); the CSR, when present, wins as it does in Fulcio.
  async function legacySigningCert(request) {
    let body;
    try {
      body = JSON.parse(request.body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'request body is not JSON');
    }
    const token = bearerToken(request.headers, undefined);
    const { header, claims, parts } = parseToken(token);
    checkClaims(claims);
    const san = subjectAlternativeName(claims);
    const forMock = [encodeSegment(header), encodeSegment({ ...claims, sub: san }), parts[2]];
    const mockBody = { credentials: { oidcIdentityToken: forMock.join('.') } };
    const csr = body.certificateSigningRequest ? csrPem(body.certificateSigningRequest) : undefined;
    if (csr) {
      mockBody.certificateSigningRequest = csr;
    } else if (typeof body.publicKey?.content === 'string' && body.publicKey.content) {
      mockBody.publicKeyRequest = { publicKey: { content: publicKeyPem(body.publicKey.content) } };
    } else {
      throw new HttpError(400, 'request has neither publicKey.content nor certificateSigningRequest');
    }
    const answer = await issue(mockBody);
    const chain = answer.signedCertificateEmbeddedSct.chain.certificates;
    const text = chain.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('');
    return { status: 201, text, type: 'application/pem-certificate-chain', headers: { SCT: '' } };
  }

  function rootPem() {
    return [
      '-----BEGIN CERTIFICATE-----',
      ...ca.rootCertificate.toString('base64').match(/.{1,64}/g),
      '-----END CERTIFICATE-----',
      '',
    ].join('\n');
  }

  function legacyRootCert() {
    return { status: 200, text: rootPem(), type: 'application/pem-certificate-chain' };
  }

  function trustBundle() {
    return { status: 200, json: { chains: [{ certificates: [rootPem()] }] } };
  }

  return {
    signingCert,
    legacySigningCert,
    legacyRootCert,
    trustBundle,
    stats: () => ({ issued }),
  };
}
