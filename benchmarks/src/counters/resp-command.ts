import { connect } from "node:net";

/**
 * Sends one Redis command on a fresh connection and returns its bulk-string (or simple-string) reply.
 * Enough for `INFO`: the harness reads counters without a client library.
 */
export function respCommand(
  host: string,
  port: number,
  args: readonly string[],
  timeoutMs = 5000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let buffer = Buffer.alloc(0);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`redis ${args[0]}: no answer within ${timeoutMs} ms`)));
    socket.on("error", fail);
    socket.on("connect", () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
    });
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const eol = buffer.indexOf("\r\n");
      if (eol === -1) return;
      const head = buffer.subarray(0, eol).toString();
      if (head.startsWith("-")) return fail(new Error(`redis ${args[0]}: ${head.slice(1)}`));
      if (head.startsWith("+")) {
        socket.end();
        return resolve(head.slice(1));
      }
      if (!head.startsWith("$")) return fail(new Error(`redis ${args[0]}: unexpected reply ${head}`));
      const length = Number(head.slice(1));
      if (buffer.length < eol + 2 + length) return;
      socket.end();
      resolve(buffer.subarray(eol + 2, eol + 2 + length).toString());
    });
  });
}
