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
})();
