#!/usr/bin/env node
'use strict';
/*
 * An independent OCPP 2.0.1 charging station for the CSMS tests, built on the npm package
 * `ocpp-rpc` in strict mode: every CALL it sends and every CALLRESULT it receives, and every
 * request the CSMS sends it, is validated against the OCA schemas bundled with ocpp-rpc.
 *
 *   node ocpp_rpc_station.js <endpoint> <identity> [protocol] [password]
 *
 * With a password the station authenticates with OCPP security profile 1 (HTTP Basic).
 *
 * stdin, one JSON object per line:  {"id": N, "method": "...", "params": {...}}
 * stdout, one JSON object per line:
 *   {"event": "connected", "protocol": "..."}
 *   {"reply_to": N, "ok": true, "result": {...}} / {"reply_to": N, "ok": false, "error": {...}}
 *   {"event": "call", "method": "...", "params": {...}}      a CSMS request (answered below)
 *   {"event": "strict_failure", "error": "..."}              a schema violation either way
 * Closing stdin closes the connection and ends the process.
 */

const path = require('path');
const readline = require('readline');
const { RPCClient } = require(path.join(__dirname, '..', 'peers', 'ocpp_rpc', 'node_modules', 'ocpp-rpc'));

const [endpoint, identity, protocol = 'ocpp2.0.1', password = null] = process.argv.slice(2);

// What the station answers to each CSMS request (all valid 2.0.1 responses).
const ANSWERS = {
    RequestStartTransaction: { status: 'Accepted' },
    RequestStopTransaction: { status: 'Accepted' },
    ReserveNow: { status: 'Accepted' },
    CancelReservation: { status: 'Accepted' },
    UnlockConnector: { status: 'Unlocked' },
    Reset: { status: 'Accepted' },
    ChangeAvailability: { status: 'Accepted' },
    TriggerMessage: { status: 'Accepted' },
};

function emit(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

async function main() {
    const client = new RPCClient({
        endpoint,
        identity,
        protocols: [protocol],
        password,
        strictMode: true,
        reconnect: false,
        callTimeoutMs: 10000,
    });
    client.on('strictValidationFailure', (failure) => {
        emit({ event: 'strict_failure', error: String(failure.error && failure.error.message) });
    });
    client.handle(({ method, params }) => {
        emit({ event: 'call', method, params });
        if (!(method in ANSWERS)) {
            throw new Error(`unexpected ${method}`);
        }
        return ANSWERS[method];
    });
    await client.connect();
    emit({ event: 'connected', protocol: client.protocol });

    const lines = readline.createInterface({ input: process.stdin });
    for await (const line of lines) {
        if (!line.trim()) continue;
        const command = JSON.parse(line);
        try {
            const result = await client.call(command.method, command.params);
            emit({ reply_to: command.id, ok: true, result });
        } catch (err) {
            emit({ reply_to: command.id, ok: false, error: { name: err.name, message: err.message, code: err.rpcErrorCode } });
        }
    }
    await client.close({ code: 1000 });
}

main().catch((err) => {
    emit({ event: 'fatal', error: String(err && err.stack || err) });
    process.exit(1);
});
