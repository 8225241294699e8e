import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP relay on 127.0.0.1 in front of one server port, so a test can cut one client off the server (a
 * network partition of that client only, without root or a network lab) while everybody else keeps
 * writing. Not a mock: bytes go to the real server untouched.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private cutOff = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free port of 127.0.0.1 and relays every connection to `targetPort` there. */
  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => {
      if (proxy === undefined || proxy.cutOff) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
      proxy.track(client);
      proxy.track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("proxy has no port");
    proxy = new TcpProxy(server, address.port);
    return proxy;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
  }

  /** Drops every relayed connection and refuses new ones until {@link restore}. */
  cut(): void {
    this.cutOff = true;
    for (const socket of this.sockets) socket.destroy();
  }

  /** Relays new connections again. */
  restore(): void {
    this.cutOff = false;
  }

  /** Drops every connection and stops listening. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
