local x = 
return {
