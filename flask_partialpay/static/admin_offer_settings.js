// The amounts follow the percentages as the admin types: the same rule as the server
// (percentage of the price, rounded up to the currency's smallest unit).
(function () {
  var form = document.querySelector(".pp-admin-offer form");
  var box = form.querySelector("#allow_partial");
  var fields = form.querySelector(".pp-partial-fields");
  var price = BigInt(form.dataset.priceMinor);
  var exponent = Number(form.dataset.exponent);
  var money = new Intl.NumberFormat(form.dataset.locale, {style: "currency", currency: form.dataset.currency});
  // What the server's parser accepts: ASCII digits and one point, at most two decimals
  // (more zeros after them change nothing), 0 to 100; anything else shows no amount.
  function amount(text) {
    var typed = text.trim();
    if (typed.length > 32) return null;
    var match = /^(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))$/.exec(typed);
    if (!match) return null;
    var decimals = (match[2] || match[3] || "").replace(/0+$/, "");
    if (decimals.length > 2) return null;
    var basis = BigInt(match[1] || "0") * 100n + BigInt(decimals.padEnd(2, "0"));
    if (basis > 10000n) return null;
    var minor = (price * basis + 9999n) / 10000n;  // rounded up
    return money.format(Number(minor) / Math.pow(10, exponent));
  }
  function show(input, output) {
    var value = amount(input.value);
    output.textContent = value === null ? "–" : value;
  }
  var pairs = [["#minimum_percent", "#minimum-amount"], ["#success_percent", "#success-amount"]];
  pairs.forEach(function (pair) {
    var input = form.querySelector(pair[0]), output = form.querySelector(pair[1]);
    input.addEventListener("input", function () { show(input, output); });
  });
  function toggle() { fields.hidden = !box.checked; }
  box.addEventListener("change", toggle);
  toggle();

  // The plan mode: the schedule's fields show only with "Schedule" chosen, and its
  // amounts follow what is typed by the server's rule (plans.schedule.split_minor): the
  // first payment rounded up, the rest split evenly, the last carrying the remainder.
  var list = form.querySelector("#plan-amounts");
  if (!list) return;
  var maxInstalments = Number(list.dataset.maxInstalments);
  function checked(name) {
    var chosen = form.querySelector("input[name='" + name + "']:checked");
    return chosen ? chosen.value : null;
  }
  function percentMinor(text) {
    var typed = text.trim();
    if (typed.length > 32) return null;
    var match = /^(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))$/.exec(typed);
    if (!match) return null;
    var decimals = (match[2] || match[3] || "").replace(/0+$/, "");
    if (decimals.length > 2) return null;
    var basis = BigInt(match[1] || "0") * 100n + BigInt(decimals.padEnd(2, "0"));
    if (basis <= 0n || basis >= 10000n) return null;
    return (price * basis + 9999n) / 10000n;
  }
  function amountMinor(text) {
    var match = /^([0-9]{1,15})(?:\.([0-9]*))?$/.exec(text.trim());
    if (!match) return null;
    var decimals = match[2] || "";
    if (decimals.length > exponent) return null;
    var minor = BigInt(match[1]) * (10n ** BigInt(exponent)) + BigInt(decimals.padEnd(exponent, "0") || "0");
    return minor > 0n ? minor : null;
  }
  function instalmentCount() {
    if (checked("timing") === "dates") {
      var lines = form.querySelector("#dates").value.split("\n").filter(function (line) { return line.trim(); });
      return lines.length;
    }
    var typed = form.querySelector("#count").value.trim();
    return /^[0-9]{1,4}$/.test(typed) ? Number(typed) : 0;
  }
  function format(minor) { return money.format(Number(minor) / Math.pow(10, exponent)); }
  function amounts() {
    var first = checked("first_kind") === "amount"
      ? amountMinor(form.querySelector("#first_amount").value)
      : percentMinor(form.querySelector("#first_percent").value);
    var count = instalmentCount();
    if (first === null || count < 1 || count > maxInstalments || first >= price) return null;
    var rest = price - first, n = BigInt(count);
    if (rest < n) return null;
    var each = rest / n, remainder = rest % n;
    var result = [first];
    for (var i = 1; i < count; i++) result.push(each);
    result.push(each + remainder);
    return result;
  }
  function showPlan() {
    var schedule = checked("plan_mode") === "schedule";
    form.querySelector(".pp-schedule-fields").hidden = !schedule;
    form.querySelector(".pp-free-fields").hidden = schedule;
    var byAmount = checked("first_kind") === "amount";
    form.querySelector(".pp-first-amount").hidden = !byAmount;
    form.querySelector(".pp-first-percent").hidden = byAmount;
    var byDates = checked("timing") === "dates";
    form.querySelector(".pp-dates-fields").hidden = !byDates;
    form.querySelector(".pp-interval-fields").hidden = byDates;
    var found = amounts();
    list.textContent = "";
    if (found === null) {
      var empty = document.createElement("li");
      empty.textContent = list.dataset.none;
      list.appendChild(empty);
      return;
    }
    found.forEach(function (minor, number) {
      var item = document.createElement("li");
      item.textContent = number === 0
        ? list.dataset.firstLabel.replace("{amount}", format(minor))
        : list.dataset.instalmentLabel.replace("{number}", String(number)).replace("{amount}", format(minor));
      list.appendChild(item);
    });
  }
  form.addEventListener("input", showPlan);
  form.addEventListener("change", showPlan);
  showPlan();
})();
