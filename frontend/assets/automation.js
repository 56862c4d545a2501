// The workflow designer (/settings/automation/<id>/): trigger -> conditions -> actions drawn as a flow of
// boxes joined by connectors, branches side by side (yes / no), waits as their own boxes. Every box is a
// small form, so the keyboard reaches everything with Tab; buttons move and remove actions. The designer
// edits the same JSON definition `/api/v1/workflows/` takes, publishes it (a new version), and asks the
// server for a test run against a record (nothing is written). State, fields and translated labels come
// from the page's json_script block.
import { api } from "./http.js";

const ACTION_DEFAULTS = {
  update_fields: () => ({ values: {} }),
  create_record: () => ({ module: "tasks", values: { subject: "" } }),
  notify: () => ({ to: ["owner"], message: "" }),
  send_email: () => ({ template: 0, to: "owner" }),
  assign: () => ({ group: 0, strategy: "round_robin" }),
  add_comment: () => ({ body: "" }),
  add_to_campaign: () => ({ campaign: "" }),
  webhook: () => ({ url: "https://" }),
  wait: () => ({ days: 1 }),
  branch: () => ({ if: "true", then: [], else: [] }),
  run_workflow: () => ({ workflow: 0 }),
};

let uid = 0;

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of [].concat(children)) if (child) node.append(child);
  return node;
}

function field(label, input, path, errors) {
  const id = `wf-${++uid}`;
  input.id = id;
  const message = errors[path];
  const children = [el("label", { for: id, text: label }), input];
  if (message) {
    const errorId = `${id}-error`;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", errorId);
    children.push(el("span", { class: "errorlist", id: errorId, text: message.join(" ") }));
  }
  return el("div", { class: "wf-field", "data-path": path }, children);
}

// "field = value" lines <-> {"field": value | {"expr": ...}}; a value starting with "=" is an expression.
function valuesToText(values) {
  return Object.entries(values || {})
    .map(([name, value]) => `${name} = ${value && typeof value === "object" ? `=${value.expr}` : value ?? ""}`)
    .join("\n");
}

function textToValues(text) {
  const values = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at < 1) continue;
    const name = line.slice(0, at).trim();
    const raw = line.slice(at + 1).trim();
    values[name] = raw.startsWith("=") ? { expr: raw.slice(1).trim() } : raw;
  }
  return values;
}

function valueOrExpr(value) {
  return value && typeof value === "object" ? `=${value.expr}` : value ?? "";
}

function parseValueOrExpr(text) {
  return text.startsWith("=") ? { expr: text.slice(1).trim() } : text;
}

function setUp(root) {
  const state = JSON.parse(document.getElementById("workflow-designer-state").textContent);
  const L = state.labels;
  let definition = state.definition || {
    trigger: { type: "created" },
    conditions: { match: "all", rules: [] },
    actions: [],
  };
  definition.conditions = definition.conditions || { match: "all", rules: [] };
  let errors = {};
  let name = state.name;
  let nextId = 1;

  const freshId = () => {
    const used = new Set();
    const walk = (list) => list.forEach((a) => { used.add(a.id); if (a.type === "branch") { walk(a.then || []); walk(a.else || []); } });
    walk(definition.actions);
    while (used.has(`step${nextId}`)) nextId += 1;
    return `step${nextId}`;
  };

  const input = (value, onChange, attrs = {}) =>
    el("input", { value: value ?? "", ...attrs, oninput: (e) => onChange(e.target.value) });
  const select = (options, value, onChange) => {
    const node = el("select", { onchange: (e) => { onChange(e.target.value); render(); } });
    for (const [key, label] of options) {
      const option = el("option", { value: key, text: label });
      if (String(key) === String(value)) option.selected = true;
      node.append(option);
    }
    return node;
  };
  const fieldOptions = state.fields.map((f) => [f.name, f.label]);

  function triggerBox() {
    const t = definition.trigger;
    const box = el("div", { class: "wf-node wf-node--trigger", role: "group", "aria-label": L.trigger }, [el("h3", { text: L.trigger })]);
    box.append(field(L.trigger, select(state.triggers.map((k) => [k, L[`t_${k}`]]), t.type, (v) => { definition.trigger = { type: v }; }), "trigger.type", errors));
    if (t.type === "field_changed" || t.type === "date") {
      box.append(field(L.field, select(fieldOptions, t.field, (v) => { t.field = v; }), "trigger.field", errors));
      if (!t.field) t.field = fieldOptions[0][0];
    }
    if (t.type === "field_changed") {
      const chosen = state.fields.find((f) => f.name === t.field);
      for (const key of ["from", "to"]) {
        if (chosen && chosen.choices) {
          box.append(field(L[key], select([["", "—"], ...chosen.choices], t[key] ?? "", (v) => { if (v === "") delete t[key]; else t[key] = v; }), `trigger.${key}`, errors));
        } else {
          box.append(field(L[key], input(t[key], (v) => { if (v === "") delete t[key]; else t[key] = v; }), `trigger.${key}`, errors));
        }
      }
    }
    if (t.type === "date") {
      box.append(field(L.offset_days, input(t.offset_days ?? 0, (v) => { t.offset_days = parseInt(v, 10) || 0; }, { type: "number" }), "trigger.offset_days", errors));
      box.append(field(L.at, input(t.at ?? "09:00", (v) => { t.at = v; }), "trigger.at", errors));
    }
    if (t.type === "webform_submitted") {
      box.append(field(L.form, select([["", "—"], ...state.forms], t.form ?? "", (v) => { if (v) t.form = parseInt(v, 10); else delete t.form; }), "trigger.form", errors));
    }
    if (t.type === "portal_event") {
      if (!t.event) t.event = "ticket_opened";
      box.append(field(L.event, select(["ticket_opened", "ticket_answered"].map((k) => [k, L[`ev_${k}`]]), t.event, (v) => { t.event = v; }), "trigger.event", errors));
    }
    if (t.type === "webhook_reply") {
      box.append(field(L.from_workflow, select([["", "—"], ...state.all_workflows.filter(([id]) => id !== state.id)], t.workflow ?? "", (v) => { if (v) t.workflow = parseInt(v, 10); else delete t.workflow; }), "trigger.workflow", errors));
      box.append(field(L.status, select(["any", "succeeded", "failed"].map((k) => [k, L[`st_${k}`]]), t.status ?? "any", (v) => { if (v === "any") delete t.status; else t.status = v; }), "trigger.status", errors));
    }
    if (t.type === "schedule") scheduleFields(box, t);
    return box;
  }

  // A schedule is one of five kinds (the same keys the API takes); choosing a kind drops the other kinds'
  // keys and starts the new one from a usable default. Wall-clock kinds run in the workspace's time zone.
  const SCHEDULE_DEFAULTS = {
    every_minutes: () => 60,
    daily_at: () => "09:00",
    weekly: () => ({ days: ["mon"], at: "09:00" }),
    monthly: () => ({ day: 1, at: "09:00" }),
    cron: () => "0 9 * * 1-5",
  };
  const SCHEDULE_KINDS = Object.keys(SCHEDULE_DEFAULTS);
  const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

  function scheduleFields(box, t) {
    let kind = SCHEDULE_KINDS.find((k) => t[k] !== undefined && t[k] !== null);
    if (!kind) { kind = "every_minutes"; t.every_minutes = SCHEDULE_DEFAULTS.every_minutes(); }
    box.append(field(L.schedule_kind, select(SCHEDULE_KINDS.map((k) => [k, L[`s_${k}`]]), kind, (v) => {
      for (const k of SCHEDULE_KINDS) delete t[k];
      t[v] = SCHEDULE_DEFAULTS[v]();
    }), "trigger.kind", errors));
    if (kind === "every_minutes") {
      box.append(field(L.every_minutes, input(t.every_minutes, (v) => { t.every_minutes = parseInt(v, 10) || 0; }, { type: "number", min: 5, max: 10080 }), "trigger.every_minutes", errors));
    }
    if (kind === "daily_at") {
      box.append(field(L.daily_at, input(t.daily_at, (v) => { t.daily_at = v; }, { type: "time" }), "trigger.daily_at", errors));
    }
    if (kind === "weekly") {
      const days = el("fieldset", { class: "wf-days" }, [el("legend", { text: L.weekly_days })]);
      for (const day of WEEKDAYS) {
        const id = `wf-${++uid}`;
        days.append(el("span", {}, [
          el("input", { type: "checkbox", id, value: day, checked: t.weekly.days.includes(day), onchange: (e) => {
            t.weekly.days = WEEKDAYS.filter((d) => (d === day ? e.target.checked : t.weekly.days.includes(d)));
          } }),
          el("label", { for: id, text: L[`d_${day}`] }),
        ]));
      }
      const message = errors["trigger.weekly.days"];
      if (message) days.append(el("span", { class: "errorlist", text: message.join(" ") }));
      box.append(el("div", { class: "wf-field", "data-path": "trigger.weekly.days" }, [days]));
      box.append(field(L.at, input(t.weekly.at, (v) => { t.weekly.at = v; }, { type: "time" }), "trigger.weekly.at", errors));
    }
    if (kind === "monthly") {
      const options = [...Array.from({ length: 31 }, (_, i) => [i + 1, String(i + 1)]), ["last", L.last_day]];
      box.append(field(L.month_day, select(options, t.monthly.day, (v) => { t.monthly.day = v === "last" ? "last" : parseInt(v, 10); }), "trigger.monthly.day", errors));
      box.append(field(L.at, input(t.monthly.at, (v) => { t.monthly.at = v; }, { type: "time" }), "trigger.monthly.at", errors));
    }
    if (kind === "cron") {
      box.append(field(L.cron, input(t.cron, (v) => { t.cron = v; }, { spellcheck: "false", autocomplete: "off" }), "trigger.cron", errors));
    }
    box.append(el("p", { class: "muted", text: kind === "every_minutes" ? L.schedule_utc : L.schedule_zone.replace("%(zone)s", state.workspace_timezone) }));
    box.append(field(L.filter, input(t.filter ?? "", (v) => { if (v) t.filter = v; else delete t.filter; }), "trigger.filter", errors));
  }


  // One all/any group; a rule is an expression or a nested group (up to 4 deep, as the API allows).
  function groupEditor(group, path, depth) {
    group.rules = group.rules || [];
    const box = el("div", { class: depth ? "wf-group" : "", role: "group", "aria-label": `${L.conditions} ${path}` });
    box.append(field(L.conditions, select([["all", L.match_all], ["any", L.match_any]], group.match || "all", (v) => { group.match = v; }), `${path}.match`, errors));
    group.rules.forEach((rule, index) => {
      const here = `${path}.rules.${index}`;
      const remove = el("button", { type: "button", class: "button button--small button--ghost", text: L.remove, onclick: () => { group.rules.splice(index, 1); render(); } });
      if (rule.rules) {
        box.append(el("div", { class: "wf-rule wf-rule--group" }, [groupEditor(rule, here, depth + 1), remove]));
      } else {
        box.append(el("div", { class: "wf-rule" }, [field(`${L.expression} ${index + 1}`, input(rule.expr, (v) => { rule.expr = v; }), here, errors), remove]));
      }
    });
    const tools = el("div", { class: "wf-tools" }, [
      el("button", { type: "button", class: "button button--small button--ghost", text: L.add_rule, onclick: () => { group.rules.push({ expr: "" }); render(); } }),
    ]);
    if (depth < 3) {
      tools.append(el("button", { type: "button", class: "button button--small button--ghost", text: L.add_group, onclick: () => { group.rules.push({ match: "any", rules: [{ expr: "" }] }); render(); } }));
    }
    box.append(tools);
    return box;
  }

  function conditionsBox() {
    const box = el("div", { class: "wf-node wf-node--conditions", role: "group", "aria-label": L.conditions }, [el("h3", { text: L.conditions })]);
    box.append(groupEditor(definition.conditions, "conditions", 0));
    return box;
  }

  function actionFields(action, path) {
    const parts = [field(L.step_id, input(action.id, (v) => { action.id = v; }), `${path}.id`, errors)];
    const add = (label, node, key) => parts.push(field(label, node, `${path}.${key}`, errors));
    switch (action.type) {
      case "update_fields":
      case "create_record":
        if (action.type === "create_record") add(L.module, select(state.modules, action.module, (v) => { action.module = v; }), "module");
        add(L.values, el("textarea", { rows: 3, oninput: (e) => { action.values = textToValues(e.target.value); } }, [valuesToText(action.values)]), "values");
        break;
      case "notify":
        add(L.recipients, input(action.to.join(" "), (v) => { action.to = v.split(/[\s,]+/).filter(Boolean); }), "to");
        add(L.message, input(valueOrExpr(action.message), (v) => { action.message = parseValueOrExpr(v); }), "message");
        break;
      case "send_email":
        add(L.template, select([[0, "—"], ...state.templates], action.template, (v) => { action.template = parseInt(v, 10); }), "template");
        add(L.email_to, select([["owner", "owner"], ["record", "record"]], action.to, (v) => { action.to = v; }), "to");
        break;
      case "assign":
        add(L.group, select([[0, "—"], ...state.groups], action.group, (v) => { action.group = parseInt(v, 10); }), "group");
        add(L.strategy, select([["round_robin", "round robin"], ["least_loaded", "least loaded"]], action.strategy, (v) => { action.strategy = v; }), "strategy");
        break;
      case "add_comment":
        add(L.body, input(valueOrExpr(action.body), (v) => { action.body = parseValueOrExpr(v); }), "body");
        break;
      case "add_to_campaign":
        add(L.campaign, input(action.campaign, (v) => { action.campaign = v; }), "campaign");
        break;
      case "webhook":
        add(L.url, input(action.url, (v) => { action.url = v; }, { type: "url" }), "url");
        add(L.wait_for_reply, el("input", { type: "checkbox", checked: Boolean(action.wait_for_reply), onchange: (e) => { if (e.target.checked) action.wait_for_reply = true; else delete action.wait_for_reply; } }), "wait_for_reply");
        break;
      case "wait":
        for (const unit of ["days", "hours", "minutes"]) {
          add(L[unit], input(action[unit] ?? 0, (v) => { action[unit] = parseInt(v, 10) || 0; }, { type: "number", min: 0 }), unit);
        }
        break;
      case "branch":
        add(L.if, input(action.if, (v) => { action.if = v; }), "if");
        break;
      case "run_workflow":
        add(L.workflow, select([[0, "—"], ...state.workflows], action.workflow, (v) => { action.workflow = parseInt(v, 10); }), "workflow");
        break;
      default: {
        // An action type another package registered: its settings as JSON (the same keys its API takes).
        const { id: _id, type: _type, ...settings } = action;
        add(L.settings_json, el("textarea", { rows: 4, oninput: (e) => {
          try {
            const parsed = JSON.parse(e.target.value || "{}");
            for (const key of Object.keys(action)) if (key !== "id" && key !== "type") delete action[key];
            Object.assign(action, parsed);
          } catch { /* kept until it parses; the server names what is wrong */ }
        } }, [JSON.stringify(settings, null, 2)]), "settings");
      }
    }
    return parts;
  }

  function actionList(list, path) {
    const column = el("ol", { class: "wf-flow" });
    list.forEach((action, index) => {
      const here = `${path}.${index}`;
      const box = el("li", { class: `wf-node wf-node--${action.type}`, "data-step": action.id }, [
        el("h3", { text: `${L[`a_${action.type}`]} · ${action.id}` }),
        ...actionFields(action, here),
      ]);
      const tools = el("div", { class: "wf-tools" }, [
        el("button", { type: "button", class: "button button--small button--ghost", text: L.up, disabled: index === 0, onclick: () => { list.splice(index - 1, 0, list.splice(index, 1)[0]); render(); } }),
        el("button", { type: "button", class: "button button--small button--ghost", text: L.down, disabled: index === list.length - 1, onclick: () => { list.splice(index + 1, 0, list.splice(index, 1)[0]); render(); } }),
        el("button", { type: "button", class: "button button--small button--ghost", text: L.remove, onclick: () => { list.splice(index, 1); render(); } }),
      ]);
      box.append(tools);
      if (action.type === "branch") {
        action.then = action.then || [];
        action.else = action.else || [];
        box.append(el("div", { class: "wf-branches" }, [
          el("div", { class: "wf-branch", role: "group", "aria-label": L.then }, [el("h4", { text: L.then }), actionList(action.then, `${here}.then`)]),
          el("div", { class: "wf-branch", role: "group", "aria-label": L.else }, [el("h4", { text: L.else }), actionList(action.else, `${here}.else`)]),
        ]));
      }
      column.append(box);
    });
    // A plain select: choosing a type must not redraw the flow (the button adds it).
    const picker = el("select", {}, state.actions.map((k) => el("option", { value: k, text: L[`a_${k}`] })));
    const adder = el("li", { class: "wf-add" }, [
      field(L.add_action, picker, `${path}.add`, {}),
      el("button", { type: "button", class: "button button--small", text: L.add_action, onclick: () => {
        const type = picker.value;
        // Types not listed (an installed app's actions) take no settings.
        list.push({ id: freshId(), type, ...(ACTION_DEFAULTS[type] || (() => ({})))() });
        render();
      } }),
    ]);
    column.append(adder);
    return column;
  }

  const status = el("div", { role: "status", class: "wf-status" });
  const result = el("div", { class: "wf-result", "data-test-result": true });

  async function publish() {
    errors = {};
    try {
      const body = { name, definition };
      const saved = state.id
        ? await api(`${state.api}${state.id}/`, "PATCH", body)
        : await api(state.api, "POST", { ...body, module: state.module });
      state.id = saved.id;
      status.textContent = L.saved.replace("%(n)s", saved.version);
      history.replaceState(null, "", `${state.index}${saved.id}/`);
    } catch (error) {
      errors = Object.fromEntries(Object.entries(error.data || {}).map(([k, v]) => [k.replace(/^definition\./, ""), [].concat(v)]));
      status.textContent = `${L.error} ${error.message}`;
      render();
    }
  }

  async function testRun(recordId) {
    result.replaceChildren();
    try {
      const answer = await api(`${state.api}${state.id}/test`, "POST", { record: recordId, definition });
      const list = el("ol", {}, answer.steps.map((s) => el("li", { text: `${s.id} (${s.action}): ${s.status} ${s.error || JSON.stringify(s.inputs)}` })));
      result.append(el("h3", { text: `${L.test_result}: ${answer.status}` }), list);
    } catch (error) {
      result.append(el("p", { class: "errorlist", text: error.message }));
    }
  }

  function render() {
    const focusPath = document.activeElement && document.activeElement.closest && document.activeElement.closest("[data-path]")?.dataset.path;
    const testInput = el("input", { name: "record" });
    root.replaceChildren(
      field(L.name, input(name, (v) => { name = v; }, { maxlength: 150, required: true }), "name", errors),
      el("div", { class: "wf-canvas" }, [triggerBox(), conditionsBox(), el("h3", { text: L.actions }), actionList(definition.actions, "actions")]),
      el("div", { class: "form__actions" }, [
        el("button", { type: "button", class: "button", text: L.save, "data-publish": true, disabled: state.system, onclick: publish }),
      ]),
      status,
      el("div", { class: "form form--inline" }, [
        field(L.test_record, testInput, "test", {}),
        el("button", { type: "button", class: "button button--small button--ghost", text: L.test, "data-test-run": true, onclick: () => state.id && testRun(testInput.value) }),
      ]),
      result,
    );
    if (focusPath) root.querySelector(`[data-path="${CSS.escape(focusPath)}"] input, [data-path="${CSS.escape(focusPath)}"] select`)?.focus();
  }

  render();
}

function onReady(fn) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
  else fn();
}

onReady(() => {
  const root = document.querySelector("[data-workflow-designer]");
  if (root && document.getElementById("workflow-designer-state")) setUp(root);
});
