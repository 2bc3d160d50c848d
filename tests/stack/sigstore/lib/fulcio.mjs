// Fulcio's POST /api/v2/signingCert on top of @sigstore/mock's CA and CT log.
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

export const SIGNING_CERT_PATH = '/api/v2/signingCert';
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
    const result = await handler.fn(JSON.stringify(mockBody));
    if (result.statusCode !== 201) throw new HttpError(400, String(result.response));
    issued += 1;
    return { status: 201, json: JSON.parse(result.response) };
  }

  function trustBundle() {
    const pem = [
      '-----BEGIN CERTIFICATE-----',
      ...ca.rootCertificate.toString('base64').match(/.{1,64}/g),
      '-----END CERTIFICATE-----',
      '',
    ].join('\n');
    return { status: 200, json: { chains: [{ certificates: [pem] }] } };
  }

  return { signingCert, trustBundle, stats: () => ({ issued }) };
}
