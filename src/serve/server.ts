/**
 * Binds an app to a socket (Node's http server through @hono/node-server) and closes it cleanly: stop
 * accepting, end open streams, then the engine.
 *
 * @example
 * const server = await listen(app, { host: "127.0.0.1", port: 0 });
 * console.log(server.url); // http://127.0.0.1:43127
 * await server.close();
 */

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import type { ServeEnv } from "./context.js";

export interface Listening {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function listen(app: Hono<ServeEnv>, opts: { host: string; port: number }): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: opts.host, port: opts.port }, (info: AddressInfo) => {
      const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            const http = server as Server;
            http.close(() => done());
            // Streams in progress would hold close() open until they end.
            http.closeAllConnections?.();
          }),
      });
    });
    server.once("error", reject);
  });
}
