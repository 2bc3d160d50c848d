// An RFC 3161 timestamp authority on top of @sigstore/mock's TSA.
//
// Adapters: clients (sigstore-python, cosign) POST a DER `application/timestamp-query`; the mock
// takes JSON, so the request is parsed here and handed to the mock's TSA directly. The TSTInfo
// the mock builds is corrected in two places: genTime is cut to whole seconds (sigstore-js
// rejects some fractional genTimes) and the nonce keeps all its bytes (the mock would pass it
// through a JavaScript number, which loses precision on the 64-bit nonces clients send).

import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { HttpError } from './fulcio.mjs';

export const TIMESTAMP_PATH = '/api/v1/timestamp';
export const CERT_CHAIN_PATH = '/api/v1/timestamp/certchain';

const SIGSTORE_TSA_POLICY = '1.3.6.1.4.1.57264.2';

function parseRequest(der) {
  let req;
  try {
    req = pkijs.TimeStampReq.fromBER(new Uint8Array(der));
  } catch (e) {
    throw new HttpError(400, `not a DER TimeStampReq: ${e.message}`);
  }
  const imprint = req.messageImprint;
  return {
    artifactHash: Buffer.from(imprint.hashedMessage.valueBlock.valueHexView),
    hashAlgorithmOID: imprint.hashAlgorithm.algorithmId,
    nonceBytes: req.nonce ? Buffer.from(req.nonce.valueBlock.valueHexView) : undefined,
    nonce: 0,
    policyOID: req.reqPolicy || SIGSTORE_TSA_POLICY,
    certReq: req.certReq ?? false,
  };
}

function pemChain(ders) {
  return ders
    .map((der) =>
      ['-----BEGIN CERTIFICATE-----', ...der.toString('base64').match(/.{1,64}/g), '-----END CERTIFICATE-----', ''].join(
        '\n',
      ),
    )
    .join('');
}

export function createTsa({ tsa }) {
  const mockTstInfo = tsa.tstInfo.bind(tsa);
  tsa.tstInfo = (req) => {
    const info = mockTstInfo(req);
    info.genTime = new Date(Math.floor(Date.now() / 1000) * 1000);
    if (req.nonceBytes) {
      info.nonce = new asn1js.Integer({ valueHex: req.nonceBytes });
    } else {
      delete info.nonce;
    }
    return info;
  };
  let issued = 0;

  async function timestamp(request) {
    const type = (request.headers['content-type'] || '').split(';')[0].trim();
    if (type !== 'application/timestamp-query') {
      throw new HttpError(415, 'expected Content-Type: application/timestamp-query');
    }
    const response = await tsa.timestamp(parseRequest(request.body));
    issued += 1;
    return { status: 201, body: response, type: 'application/timestamp-reply' };
  }

  function certChain() {
    const text = pemChain([tsa.intCertificate, tsa.rootCertificate]);
    return { status: 200, text, type: 'application/pem-certificate-chain' };
  }

  return { timestamp, certChain, stats: () => ({ issued }) };
}
