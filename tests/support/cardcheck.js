#!/usr/bin/env node
// Check Adaptive Cards for Microsoft Teams.
//
// stdin:  a JSON array of Adaptive Card objects.
// stdout: a JSON array with one entry per card, each a list of problem strings
//         (empty list = no problems found).
// Exit code 2 when the input is not a JSON array or the adaptivecards package cannot be loaded.
//
// Problems prefixed "parser" come from the official adaptivecards 3.x parser, run at schema 1.5:
// the parse context's events and card.validateProperties(). Problems prefixed "teams" come from
// checks below that the parser does not make. Only the UMD bundle loads in Node (plain
// require('adaptivecards') fails); it needs no DOM for loading, parsing or validating, so no
// document/window shims are installed.
//
// Teams-only elements (the Chart.* family) are unknown to the parser, as they are to any client
// without charts: the parser reports them as UnknownElementType and parses their `fallback` in
// their place, so the fallback gets the parser's full checks. For those types alone the
// UnknownElementType event is not a problem; instead each needs a fallback (an element, or
// "drop") and data of the documented shape. Any other unknown type is still reported.
"use strict";

const fs = require("fs");

let AC;
try {
    AC = require("adaptivecards/dist/adaptivecards.js");
} catch (err) {
    process.stderr.write(
        "cardcheck: cannot load adaptivecards/dist/adaptivecards.js (run `npm install` in the repo root): " +
            err.message +
            "\n"
    );
    process.exit(2);
}

const MAX_CARD_BYTES = 80 * 1024;
const MAX_REFRESH_USER_IDS = 60;
const TEAMS_CARD_VERSION = "1.5";

// Parser events that are advice, not defects: a layout hint, and the fallback error text of a
// required input (Teams shows a generic message when errorMessage is missing).
const IGNORED_EVENTS = new Set([
    AC.ValidationEvent.Hint,
    AC.ValidationEvent.RequiredInputsShouldHaveErrorMessage,
]);

// Keys whose value must be an array of objects; the parser silently drops anything else.
const OBJECT_ARRAY_KEYS = new Set(["body", "actions", "items", "columns", "facts", "choices"]);

// Keys holding free-form payloads, not card structure.
const OPAQUE_KEYS = new Set(["data"]);

// Element types Teams renders but the adaptivecards parser does not know (Teams platform docs,
// "Charts in Adaptive Cards").
const TEAMS_ONLY_ELEMENTS = new Set([
    "Chart.Donut",
    "Chart.Pie",
    "Chart.Gauge",
    "Chart.Line",
    "Chart.VerticalBar",
    "Chart.VerticalBar.Grouped",
    "Chart.HorizontalBar",
    "Chart.HorizontalBar.Stacked",
]);
// The parser's own message for an unknown element type; these events carry no source object.
const TEAMS_ONLY_EVENTS = new Set([...TEAMS_ONLY_ELEMENTS].map((t) => AC.Strings.errors.unknownElementType(t)));

// The documented shape of each data item, for the chart types whose data is a flat list.
const CHART_DATA_ITEMS = {
    "Chart.VerticalBar": { x: ["string", "number"], y: ["number"] },
    "Chart.HorizontalBar": { x: ["string", "number"], y: ["number"] },
    "Chart.Donut": { legend: ["string"], value: ["number"] },
    "Chart.Pie": { legend: ["string"], value: ["number"] },
};

/** Describe the card object a parser event refers to, e.g. "Input.Text#name". */
function describeSource(source) {
    if (!source || typeof source.getJsonTypeName !== "function") {
        return "";
    }
    const typeName = source.getJsonTypeName();
    const id = typeof source.id === "string" && source.id ? "#" + source.id : "";
    return typeName ? " at " + typeName + id : "";
}

/** Format one parser validation event as "parser Phase/Event at Type#id: message". */
function formatEvent(event) {
    const phase = AC.ValidationPhase[event.phase] || String(event.phase);
    const kind = AC.ValidationEvent[event.event] || String(event.event);
    return "parser " + phase + "/" + kind + describeSource(event.source) + ": " + event.message;
}

/** Run the official parser at schema 1.5 and return its relevant events. */
function parserProblems(json) {
    const problems = [];
    const card = new AC.AdaptiveCard();
    const context = new AC.SerializationContext(AC.Versions.v1_5);
    try {
        card.parse(json, context);
    } catch (err) {
        return ["parser Parse/Exception: " + err.message];
    }
    const events = [];
    for (let i = 0; i < context.eventCount; i++) {
        events.push(context.getEventAt(i));
    }
    try {
        events.push(...card.validateProperties().validationEvents);
    } catch (err) {
        problems.push("parser Validation/Exception: " + err.message);
    }
    for (const event of events) {
        const teamsOnly = event.event === AC.ValidationEvent.UnknownElementType && TEAMS_ONLY_EVENTS.has(event.message);
        if (!IGNORED_EVENTS.has(event.event) && !teamsOnly) {
            problems.push(formatEvent(event));
        }
    }
    return problems;
}

/** True for a non-empty string after trimming. */
function isFilled(value) {
    return typeof value === "string" && value.trim() !== "";
}

/** Walk the card JSON and report what the parser accepts but Teams does not. */
function structureProblems(node, path, problems) {
    if (Array.isArray(node)) {
        node.forEach((item, i) => structureProblems(item, path + "[" + i + "]", problems));
        return;
    }
    if (node === null || typeof node !== "object") {
        return;
    }
    const type = node.type;
    const where = (path || "card") + (typeof type === "string" ? " (" + type + ")" : "");
    if (type === "Action.Execute" && !isFilled(node.verb)) {
        problems.push("teams " + where + ": Action.Execute needs a non-empty string \"verb\"");
    }
    if (type === "Image" && !isFilled(node.url)) {
        problems.push("teams " + where + ": Image needs a non-empty \"url\"");
    }
    if (typeof type === "string" && type.startsWith("Input.") && !isFilled(node.label)) {
        problems.push("teams " + where + ": " + type + " has no \"label\" (every input needs one)");
    }
    if (TEAMS_ONLY_ELEMENTS.has(type)) {
        teamsOnlyProblems(node, where, problems);
    }
    for (const [key, value] of Object.entries(node)) {
        if (OPAQUE_KEYS.has(key)) {
            continue;
        }
        const childPath = path ? path + "." + key : key;
        if (OBJECT_ARRAY_KEYS.has(key)) {
            if (!Array.isArray(value)) {
                problems.push("teams " + childPath + ": must be an array, got " + jsonType(value));
            } else {
                value.forEach((item, i) => {
                    if (item === null || typeof item !== "object" || Array.isArray(item)) {
                        problems.push(
                            "teams " + childPath + "[" + i + "]: must be an object, got " + jsonType(item)
                        );
                    }
                });
            }
        }
        structureProblems(value, childPath, problems);
    }
}

/** A Teams-only element needs a fallback for other clients, and chart data of the documented shape. */
function teamsOnlyProblems(node, where, problems) {
    const fallback = node.fallback;
    const isElement = fallback !== null && typeof fallback === "object" && !Array.isArray(fallback);
    if (!isElement && fallback !== "drop") {
        problems.push("teams " + where + ": " + node.type + " needs a \"fallback\" element (or \"drop\") for clients without charts");
    }
    const shape = CHART_DATA_ITEMS[node.type];
    if (!shape) {
        return;
    }
    if (!Array.isArray(node.data)) {
        problems.push("teams " + where + ".data: must be an array, got " + jsonType(node.data));
        return;
    }
    node.data.forEach((item, i) => {
        for (const [key, types] of Object.entries(shape)) {
            const value = item === null || typeof item !== "object" ? undefined : item[key];
            if (!types.includes(typeof value) || (typeof value === "number" && !Number.isFinite(value))) {
                problems.push(
                    "teams " + where + ".data[" + i + "]." + key + ": must be " + types.join(" or ") + ", got " + jsonType(value)
                );
            }
        }
    });
}

/** Name a JSON value's type for messages. */
function jsonType(value) {
    if (value === null) {
        return "null";
    }
    return Array.isArray(value) ? "array" : typeof value;
}

/** Checks on the card as a whole: type, version, size, refresh.userIds. */
function cardLevelProblems(card) {
    const problems = [];
    if (card.type !== "AdaptiveCard") {
        problems.push(
            "teams card: top-level \"type\" must be \"AdaptiveCard\", got " + JSON.stringify(card.type)
        );
    }
    if (card.version !== TEAMS_CARD_VERSION) {
        problems.push(
            "teams card: \"version\" must be \"" +
                TEAMS_CARD_VERSION +
                "\" (Teams renders up to 1.5), got " +
                JSON.stringify(card.version)
        );
    }
    const bytes = Buffer.byteLength(JSON.stringify(card), "utf8");
    if (bytes >= MAX_CARD_BYTES) {
        problems.push(
            "teams card: JSON size " + bytes + " bytes is not under 80 KB (" + MAX_CARD_BYTES + " bytes)"
        );
    }
    const refresh = card.refresh;
    if (refresh && typeof refresh === "object" && refresh.userIds !== undefined) {
        if (!Array.isArray(refresh.userIds)) {
            problems.push("teams refresh.userIds: must be an array, got " + jsonType(refresh.userIds));
        } else if (refresh.userIds.length > MAX_REFRESH_USER_IDS) {
            problems.push(
                "teams refresh.userIds: " +
                    refresh.userIds.length +
                    " ids, at most " +
                    MAX_REFRESH_USER_IDS +
                    " allowed"
            );
        }
    }
    return problems;
}

/** All problems of one card. */
function checkCard(card) {
    if (card === null || typeof card !== "object" || Array.isArray(card)) {
        return ["teams card: must be a JSON object, got " + jsonType(card)];
    }
    const problems = cardLevelProblems(card);
    structureProblems(card, "", problems);
    return parserProblems(card).concat(problems);
}

/** Read the batch from stdin and write the results to stdout. */
function main() {
    let cards;
    try {
        cards = JSON.parse(fs.readFileSync(0, "utf8"));
    } catch (err) {
        process.stderr.write("cardcheck: stdin is not valid JSON: " + err.message + "\n");
        process.exit(2);
    }
    if (!Array.isArray(cards)) {
        process.stderr.write("cardcheck: stdin must be a JSON array of cards\n");
        process.exit(2);
    }
    process.stdout.write(JSON.stringify(cards.map(checkCard)) + "\n");
}

main();
