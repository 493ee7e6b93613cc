/**
 * Hostile connections (issue 19): every socket is counted, one over MAX_CONNECTIONS is answered
 * with the envelope and closed, and HTTP-level failures (timeouts, malformed requests, oversized
 * headers) answer the envelope instead of Node's or Fastify's own body. The timeouts themselves
 * are Node's (headersTimeout, requestTimeout, keepAliveTimeout), set in app.ts; Node checks them
 * every connectionsCheckingInterval, so app.ts sets that to a second rather than Node's 30 s.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { ErrorCode } from '../protocol/errors.js';

export interface ConnectionGuard {
  /** Open sockets now. */
  readonly open: number;
  /** Sockets refused because MAX_CONNECTIONS were open. */
  readonly refused: number;
  /** Destroy every socket still open (the last step of a bounded shutdown). */
  destroyAll(): void;
}

/** A complete HTTP/1.1 response carrying the protocol's error envelope; the connection closes after it. */
export function rawEnvelope(status: number, errorCode: ErrorCode, description: string): string {
  const body = JSON.stringify({ errorId: 1, errorCode, errorDescription: description });
  const reason = { 200: 'OK', 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 414: 'URI Too Long', 431: 'Request Header Fields Too Large' }[status] ?? 'Error';
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

export function guardConnections(server: Server, maxConnections: number, onRefused: () => void = () => {}): ConnectionGuard {
  const sockets = new Set<Socket>();
  let refused = 0;
  // prepended: runs before Node's HTTP listener, so a refused socket is closed before any parsing matters
  server.prependListener('connection', (socket: Socket) => {
    socket.on('error', () => undefined); // a reset after we wrote our answer is not ours to report
    if (sockets.size >= maxConnections) {
      refused += 1;
      onRefused();
      socket.end(rawEnvelope(200, 'ERROR_NO_SLOT_AVAILABLE', `the server has ${maxConnections} connections open (MAX_CONNECTIONS); nothing was done or charged, retry shortly`));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    get open() { return sockets.size; },
    get refused() { return refused; },
    destroyAll() {
      for (const s of sockets) s.destroy();
    },
  };
}

/** What an HTTP-level failure (Node's 'clientError') is answered with: status, code, sentence. */
export function clientErrorAnswer(err: Error & { code?: string }, limits: { requestTimeoutMs: number; headersTimeoutMs: number }): [number, ErrorCode, string] {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'ERROR_REQUIRED_FIELDS', `the request (headers within ${limits.headersTimeoutMs} ms, HEADERS_TIMEOUT_MS; all of it within ${limits.requestTimeoutMs} ms, REQUEST_TIMEOUT_MS) did not arrive in time; the connection is closed`];
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'ERROR_REQUIRED_FIELDS', 'the request line and headers are larger than the server accepts (16 KiB); send POST /createTask with a JSON body'];
    default:
      return [400, 'ERROR_REQUIRED_FIELDS', `the request is not valid HTTP/1.1 (${err.code ?? 'malformed'}: ${err.message.split('\n')[0]!.slice(0, 100)}); send POST /createTask with a JSON body`];
  }
}

/** Sockets the server ended for an HTTP-level error: a request body cut short on them is not a client abort. */
export const endedByServer = new WeakSet<Socket>();

/** Fastify's clientErrorHandler: the envelope at the HTTP layer too, logged at info without a stack. */
export function clientErrorHandler(limits: { requestTimeoutMs: number; headersTimeoutMs: number }, log: () => FastifyBaseLogger, count: (code: string) => void) {
  return (err: Error & { code?: string }, socket: Socket): void => {
    // a reset: the client went away; a request it was sending is counted as client_aborted by app.ts's error handler
    // ended already (our own 408/400 went out first): whatever follows on it is not news
    if (err.code === 'ECONNRESET' || socket.destroyed || endedByServer.has(socket)) return;
    endedByServer.add(socket);
    if (err.code === 'HPE_INVALID_EOF_STATE') {
      // the client closed its side in the middle of a request: an abort, not a malformed request
      log().info({ code: err.code }, 'client aborted the request');
      count('client_aborted');
      socket.destroy();
      return;
    }
    const [status, code, description] = clientErrorAnswer(err, limits);
    log().info({ code: err.code, status }, 'HTTP-level client error');
    count(err.code ?? 'malformed');
    if (socket.writable) socket.end(rawEnvelope(status, code, description));
    setTimeout(() => socket.destroy(), 1000).unref();
  };
}
