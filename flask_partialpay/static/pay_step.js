// The payment step: the Pay button names what this submission pays, and the amount field
// shows only while "Make Payment Partial" is ticked. The server decides the same way and
// checks everything again; this only keeps the page saying what will happen.
(function () {
  var form = document.querySelector(".pp-pay-form");
  if (!form) return;
  var button = form.querySelector(".pp-pay-button");
  var box = form.querySelector("#make_partial");
  var amountBlock = form.querySelector(".pp-partial-amount");
  var input = form.querySelector("#amount");
  var data = form.dataset;
  var money = new Intl.NumberFormat(data.locale, {style: "currency", currency: data.currency});

  // An amount as the server's strict parser reads it (ASCII digits, one point, no more
  // decimals than the currency has), in minor units; null for anything else.
  function toMinor(text, places) {
    var match = /^([0-9]{1,15})(?:\.([0-9]*))?$/.exec(text.trim());
    if (!match) return null;
    var decimals = match[2] || "";
    if (decimals.length > places) return null;
    return BigInt(match[1]) * (10n ** BigInt(places)) + BigInt(decimals.padEnd(places, "0") || "0");
  }
  var places = (data.maximum.split(".")[1] || "").length;
  var minimum = toMinor(data.minimum, places);
  var maximum = toMinor(data.maximum, places);

  function label() {
    if (!box || !box.checked || !input) return data.payLabel.replace("{amount}", data.full);
    var minor = toMinor(input.value, places);
    if (minor === null || minor < minimum || minor > maximum) return data.payPlain;
    return data.payLabel.replace("{amount}", money.format(Number(minor) / Math.pow(10, places)));
  }
  // A refused amount stays in sight with its message until the shopper changes something.
  var refused = input !== null && input.getAttribute("aria-invalid") === "true";
  function update(event) {
    if (event) refused = false;
    if (box && amountBlock && !refused) {
      // Hidden and disabled together: a field the shopper cannot see sends nothing.
      amountBlock.hidden = !box.checked;
      input.disabled = !box.checked;
    }
    button.textContent = label();
  }
  if (box) box.addEventListener("change", update);
  if (input) input.addEventListener("input", update);
  update();
})();
