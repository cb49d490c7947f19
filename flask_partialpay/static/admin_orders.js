// Clicking anywhere on an order's row opens it, like its number's link does.
document.querySelectorAll(".pp-rows-link tbody tr").forEach(function (row) {
  var link = row.querySelector("a");
  if (!link) return;
  row.addEventListener("click", function (event) {
    if (event.target.closest("a, button, input")) return;
    window.location.href = link.href;
  });
});
