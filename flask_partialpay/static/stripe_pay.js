// The Stripe card page: Stripe.js mounts the Payment Element and confirms the payment.
// The card goes from Stripe's frame to Stripe; the shop learns the outcome from Stripe's
// webhook, so nothing here decides whether the payment counts.
(function () {
  var page = document.querySelector(".pp-stripe-pay");
  if (!page) return;
  var data = page.dataset;
  var form = page.querySelector(".pp-stripe-form");
  var button = form.querySelector("button[type=submit]");
  var message = form.querySelector(".pp-stripe-message");

  function show(text) {
    message.textContent = text;
    message.hidden = false;
  }

  if (typeof window.Stripe !== "function") {
    show(data.unavailable);
    return;
  }
  var stripe, elements;
  try {
    stripe = window.Stripe(data.publishableKey, {locale: data.locale});
    if (typeof stripe.confirmPayment !== "function") throw new Error("no confirmPayment");
    elements = stripe.elements({clientSecret: data.clientSecret});
    elements.create("payment").mount("#pp-payment-element");
  } catch (error) {
    // A Stripe.js that cannot show the Payment Element: say so rather than a dead form.
    show(data.unavailable);
    return;
  }
  button.disabled = false;

  // The "Save this card" choice goes to the shop before the card is confirmed, ticked or
  // not: an earlier attempt on this payment may have asked to save, and an unticked box
  // must undo that. The shop answers JSON; anything else means the choice was not kept,
  // and the card is not confirmed.
  function sendSaveChoice() {
    if (!data.saveCardUrl || !form.querySelector("input[name=save]")) {
      return Promise.resolve();
    }
    return fetch(data.saveCardUrl, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: {"Accept": "application/json"}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (!response.ok) throw new Error(answer.error || data.unavailable);
      });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    message.hidden = true;
    sendSaveChoice()
      .then(function () {
        return stripe.confirmPayment({elements: elements, confirmParams: {return_url: data.returnUrl}});
      })
      .then(function (result) {
        // Only an error comes back here; a success leaves for return_url.
        if (result.error) {
          show(result.error.message || data.unavailable);
          button.disabled = false;
        }
      })
      .catch(function (error) {
        show(error.message || data.unavailable);
        button.disabled = false;
      });
  });
})();
