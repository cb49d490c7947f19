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
    elements = stripe.elements({clientSecret: data.clientSecret});
    elements.create("payment").mount("#pp-payment-element");
  } catch (error) {
    // A Stripe.js that cannot show the Payment Element: say so rather than a dead form.
    show(data.unavailable);
    return;
  }
  button.disabled = false;

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    message.hidden = true;
    stripe.confirmPayment({elements: elements, confirmParams: {return_url: data.returnUrl}})
      .then(function (result) {
        // Only an error comes back here; a success leaves for return_url.
        if (result.error) {
          show(result.error.message || data.unavailable);
          button.disabled = false;
        }
      });
  });
})();
