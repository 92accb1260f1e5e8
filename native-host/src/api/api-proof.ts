import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The proof a TCP server gives that it holds the token: HMAC-SHA256 under the token of the
 * client's nonce and the port the connection reached. The port is in it so that a server on
 * another port cannot pass on the real host's answer (it would be for the real host's port).
 * Client and host both use this one function.
 */
export function apiProof(token: string, port: number, nonce: string): string {
  return createHmac('sha256', token).update(`conductor-fx api proof v1\n127.0.0.1:${port}\n${nonce}`).digest('base64url');
}

/** Whether `proof` is the right one for this token, port and nonce, compared in constant time. */
export function isValidApiProof(proof: string, token: string, port: number, nonce: string): boolean {
  const expected = Buffer.from(apiProof(token, port, nonce));
  const given = Buffer.from(proof);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
