// What the kafkajs scripts share: each step's outcome recorded in one JSON
// summary (a failing step does not hide the others), printed once at the end,
// with a hard limit on the whole script whatever the broker does.
'use strict';

function steps(summary) {
    return async function step(name, fn) {
        try {
            const value = await fn();
            summary.steps[name] = { ok: true, value: value === undefined ? null : value };
            return value;
        } catch (error) {
            summary.steps[name] = {
                ok: false,
                error: `${error.name}: ${error.message}` + (error.type ? ` (${error.type})` : ''),
            };
            return undefined;
        }
    };
}

// Runs `main`, then prints the summary and exits once it is written: stdout is a
// pipe, which node writes asynchronously, so an immediate process.exit() would
// cut a long line short.
function run(script, summary, main, limitMs = 100000) {
    const finish = (code) => {
        process.stdout.write(JSON.stringify(summary) + '\n', () => process.exit(code));
    };
    const deadline = setTimeout(() => {
        summary.steps.deadline = {
            ok: false, error: `${script} did not finish within ${limitMs / 1000} s`,
        };
        finish(1);
    }, limitMs);
    main()
        .then(() => {
            clearTimeout(deadline);
            finish(0);
        })
        .catch((error) => {
            clearTimeout(deadline);
            summary.steps.main = { ok: false, error: String(error && error.stack) };
            finish(1);
        });
}

module.exports = { steps, run };
