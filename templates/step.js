// Steps through the page: each step lights its code line, table row and wire, and
// shows the numbers its wire carries. The state after k steps is rebuilt from the
// start, so stepping back is stepping forward k - 1 times.
(function () {
  "use strict";
  const walk = JSON.parse(document.getElementById("steps").textContent);
  const keys = JSON.parse(document.getElementById("keys").textContent);
  const steps = walk.steps;
  const svg = document.querySelector("#circuit svg");
  const status = document.getElementById("status");
  const say = document.querySelector("#say code");
  let at = 0;

  function wireTexts(role, kind) {
    if (!svg) return [];
    return [...svg.querySelectorAll("g.wire." + role + " text")].filter(
      text => (text.getAttribute("fill") === walk.gradient) === (kind === "gradient"));
  }

  function reveal(roles, kind) {
    roles.forEach(role => wireTexts(role, kind).forEach(text => {
      text.style.visibility = "visible";
    }));
  }

  function show(k) {
    at = Math.max(0, Math.min(k, steps.length));
    if (svg) {
      svg.querySelectorAll("g.wire text").forEach(text => { text.style.visibility = "hidden"; });
    }
    reveal(walk.start, "value");
    steps.slice(0, at).forEach(step => {
      reveal(step.values, "value");
      reveal(step.gradients, "gradient");
    });
    document.querySelectorAll(".current").forEach(el => el.classList.remove("current"));
    document.querySelectorAll("[data-step]").forEach(el => {
      el.classList.toggle("future", Number(el.dataset.step) >= at);
    });
    document.body.dataset.at = String(at);
    if (at === 0) {
      status.textContent = "Press space to start: " + steps.length + " steps";
      say.textContent = "";
      return;
    }
    const step = steps[at - 1];
    const lit = [document.getElementById(step.code), document.getElementById(step.row)];
    if (svg) {
      step.wires.forEach(role => lit.push(...svg.querySelectorAll("g.wire." + role)));
    }
    lit.forEach(el => el.classList.add("current"));
    // the code line and the table row are scrolled to the middle of their panels, with
    // the lines around them in view; a wire only as far as it takes to show it
    lit.filter(el => el).forEach(el => el.scrollIntoView({
      block: el.closest("svg") ? "nearest" : "center", inline: "nearest"}));
    status.textContent = (step.pass === "forward" ? "Forward pass" : "Backward pass") +
      ", step " + at + " of " + steps.length;
    say.textContent = step.say;
    say.style.color = step.pass === "forward" ? walk.value : walk.gradient;
  }

  document.addEventListener("keydown", event => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (keys.next.includes(event.code)) show(at + 1);
    else if (keys.back.includes(event.code)) show(at - 1);
    else if (event.code === "Home") show(0);
    else if (event.code === "End") show(steps.length);
    else return;
    event.preventDefault();
  });
  document.getElementById("next").addEventListener("click", () => show(at + 1));
  document.getElementById("back").addEventListener("click", () => show(at - 1));
  show(0);
})();
