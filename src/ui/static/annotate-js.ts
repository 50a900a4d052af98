/**
 * The annotator page's script (served as /static/annotate.js; plain ES2017, no build step): keyboard
 * shortcuts, the lease countdown, and lease renewal while the page is open. It only reads values the
 * server rendered and writes text (textContent), never HTML.
 */
export const ANNOTATE_JS = String.raw`(function () {
  'use strict';
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') : '';
  var task = document.getElementById('task');
  var labelForm = document.getElementById('label-form');
  var skipForm = document.getElementById('skip-form');
  var nextForm = document.getElementById('next-form');
  var note = document.getElementById('note');
  var hint = document.getElementById('form-hint');
  var sent = false;

  function send(form) {
    if (!form || sent) return;
    sent = true;
    // Through the prototype: a control named "submit" would shadow form.submit.
    HTMLFormElement.prototype.submit.call(form);
  }

  function submitLabel() {
    if (!labelForm) return;
    if (!labelForm.querySelector('input[name="label"]:checked')) {
      if (hint) hint.textContent = 'choose a label first (keys 1-9)';
      return;
    }
    send(labelForm);
  }

  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    var tag = t && t.tagName;
    if (tag === 'TEXTAREA' || (tag === 'INPUT' && t.type !== 'radio')) {
      if (e.key === 'Escape') t.blur();
      else if (e.key === 'Enter' && tag === 'TEXTAREA' && !e.shiftKey) {
        e.preventDefault();
        submitLabel();
      }
      return;
    }
    if (/^[1-9]$/.test(e.key) && labelForm) {
      var choice = labelForm.querySelector('input[name="label"][data-key="' + e.key + '"]');
      if (choice) {
        choice.checked = true;
        choice.focus();
        if (hint) hint.textContent = '';
        e.preventDefault();
      }
    } else if (e.key === 's' && skipForm) {
      e.preventDefault();
      send(skipForm);
    } else if (e.key === 'n' && note) {
      e.preventDefault();
      note.focus();
    } else if (e.key === 'Enter') {
      e.preventDefault();
      if (labelForm) submitLabel();
      else if (nextForm) send(nextForm);
    }
  });
  if (labelForm)
    labelForm.addEventListener('submit', function (e) {
      if (!labelForm.querySelector('input[name="label"]:checked')) {
        e.preventDefault();
        if (hint) hint.textContent = 'choose a label first (keys 1-9)';
      }
    });

  if (!task) return;
  var left = document.getElementById('lease-left');
  var status = document.getElementById('lease-status');
  var expires = Date.parse(task.getAttribute('data-expires'));
  var model = task.getAttribute('data-model');
  var taskId = task.getAttribute('data-task-id');
  var every = Number(task.getAttribute('data-renew-every')) || 60;

  function tick() {
    var s = Math.max(0, Math.round((expires - Date.now()) / 1000));
    var m = Math.floor(s / 60);
    left.textContent = s <= 0 ? 'expired' : m > 0 ? m + 'm ' + (s % 60) + 's' : s + 's';
  }
  function renew() {
    fetch('/api/review/' + encodeURIComponent(model) + '/renew', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify({ taskId: taskId }),
    })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        if (j.accepted && j.leaseExpiresAt) {
          expires = Date.parse(j.leaseExpiresAt);
          status.textContent = '';
        } else {
          status.textContent = 'lease not renewed: ' + (j.detail || j.reason || j.error || 'unknown');
        }
        tick();
      })
      .catch(function () { status.textContent = 'lease not renewed: the app did not answer'; });
  }
  tick();
  setInterval(tick, 1000);
  setInterval(renew, every * 1000);
})();
`;
