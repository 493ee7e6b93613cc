/** A TCP proxy a test can cut and restore, to make PostgreSQL or Redis "go down" without touching the real server. */
import net from 'node:net';

export type Direction = 'request' | 'reply';

export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private losing?: Direction;
  private cutAfterLoss = false;
  port = 0;

  constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1') {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      const drop = () => { client.destroy(); upstream.destroy(); };
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', drop);
      }
      const forward = (from: net.Socket, to: net.Socket, direction: Direction) => from.on('data', (chunk) => {
        if (this.losing === direction) {
          this.losing = undefined;
          drop();
          if (this.cutAfterLoss) void this.cut();
        } else if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      forward(client, upstream, 'request');
      forward(upstream, client, 'reply');
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /**
   * The next bytes sent in one direction are lost and their connection is cut: a lost request never
   * reaches the server; a lost reply means the server did the work and the client never hears of it.
   * thenCut: the dependency also goes down at that moment (until start()).
   */
  loseNext(direction: Direction, opts: { thenCut?: boolean } = {}): void {
    this.losing = direction;
    this.cutAfterLoss = opts.thenCut ?? false;
  }

  /** Refuse new connections and drop the open ones: the dependency is "down". */
  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server?.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
