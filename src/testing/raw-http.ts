/** Raw HTTP/1.1 over a loopback socket, for requests no HTTP client would send. */
import net from 'node:net';

/** Connect, send `text`, and collect what comes back until the server closes (or `limitMs` passes). */
export function rawExchange(port: number, text: string | Buffer, limitMs = 5000): Promise<{ reply: string; closedAfterMs: number | undefined }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => { reply += d; });
    socket.on('error', () => undefined);
    const timer = setTimeout(() => { socket.destroy(); resolve({ reply, closedAfterMs: undefined }); }, limitMs);
    socket.on('close', () => { clearTimeout(timer); resolve({ reply, closedAfterMs: Date.now() - started }); });
  });
}

export function bodyOf(reply: string): Record<string, unknown> {
  return JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
}
