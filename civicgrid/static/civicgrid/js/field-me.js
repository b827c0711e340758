(function () { var s = document.getElementById("crs-select"); s.value = CG.crs(); s.addEventListener("change", function () { CG.setCrs(s.value); }); })();
